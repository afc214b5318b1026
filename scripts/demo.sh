#!/usr/bin/env bash
# Install into .venv (first run only) and start the demo: fake Telegram, SQLite, web chat.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/antq ]; then
  echo "==> installing into .venv (first run only)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e .
fi
exec .venv/bin/antq demo "$@"
