#!/usr/bin/env bash
# Create .venv-gateway with Python 3.12 and install requirements-gateway.txt: the gateway (the internet-facing
# process) on current aiohttp / python-socketio / SQLAlchemy 2.x / redis-py, apart from Rasa's pins. Idempotent:
# Make calls it only when requirements-gateway.txt is newer than the stamp.
set -euo pipefail
cd "$(dirname "$0")/.."
find_python() {
  for candidate in "${PYTHON312:-}" /root/.pyenv/versions/3.12.1/bin/python3.12 "$(command -v python3.12 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}
if [ ! -x .venv-gateway/bin/python ]; then
  if ! PY=$(find_python); then
    echo "error: Python 3.12 is required for the gateway's environment and was not found." >&2
    echo "       Looked for \$PYTHON312, /root/.pyenv/versions/3.12.1/bin/python3.12 and python3.12 on PATH." >&2
    echo "       Install it (e.g. 'pyenv install 3.12.1') or set PYTHON312=/path/to/python3.12." >&2
    exit 1
  fi
  echo "creating .venv-gateway with $PY"
  "$PY" -m venv .venv-gateway
fi
.venv-gateway/bin/python -m pip install --quiet --upgrade pip
echo "installing the gateway's requirements (aiohttp, python-socketio, SQLAlchemy 2, …)"
.venv-gateway/bin/python -m pip install --quiet -r requirements-gateway.txt
touch .venv-gateway/.installed
