#!/usr/bin/env bash
# Install the project with its test tools into .venv, lint, type-check and run every test
# on SQLite and PostgreSQL (ANTQ_TEST_DATABASES=sqlite to skip PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
echo "==> installing (pip install -e '.[dev,bench]')"
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".[dev,bench]"
echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy"
.venv/bin/mypy bot handlers content admin
echo "==> pytest"
exec .venv/bin/python -m pytest -q "$@"
