#!/usr/bin/env bash
# Run the test suite (about a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q "$@"
