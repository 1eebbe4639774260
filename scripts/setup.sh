#!/usr/bin/env bash
# Create .venv, install zoo, its built-in plugins and the test tools (torch pinned to a CPU build),
# then upscale a built-in demo image with the default model (works with no network).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
# The example third-party plugin, installed like any plugin from outside the repo's own plugins/.
.venv/bin/python -m pip install -q -e tests/example_plugin
HF_HUB_OFFLINE=1 .venv/bin/zoo upscale --demo --overwrite -o out/demo-2x.png
