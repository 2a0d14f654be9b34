#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the pinned requirements. Idempotent: Make calls it only when
# requirements.txt is newer than the stamp.
set -euo pipefail
cd "$(dirname "$0")/.."
find_python() {
  for candidate in "${PYTHON310:-}" /root/.pyenv/versions/3.10.13/bin/python3.10 "$(command -v python3.10 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}
if [ ! -x .venv/bin/python ]; then
  if ! PY=$(find_python); then
    echo "error: Python 3.10 is required (Rasa 3.6 supports 3.8–3.10) and was not found." >&2
    echo "       Looked for \$PYTHON310, /root/.pyenv/versions/3.10.13/bin/python3.10 and python3.10 on PATH." >&2
    echo "       Install it (e.g. 'pyenv install 3.10.13') or set PYTHON310=/path/to/python3.10." >&2
    exit 1
  fi
  echo "creating .venv with $PY"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "installing requirements (rasa 3.6 and friends; a few minutes on a fresh machine)…"
.venv/bin/python -m pip install --quiet -r requirements.txt
touch .venv/.installed
