#!/usr/bin/env bash
# Debian's Chromium (driven by Playwright in the browser tests) and a CJK font for readable screenshots.
# Idempotent: installs only what is missing. Nothing downloads a browser from elsewhere.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qiE "wqy|noto sans cjk|noto serif cjk" || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]} from Debian's packages (browser tests)…"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "error: ${need[*]} missing and not root: install them with apt-get (Debian packages)" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
