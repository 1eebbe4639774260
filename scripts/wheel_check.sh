#!/usr/bin/env bash
# Build wheels of zoo-core, every built-in plugin and the example plugin, install them (not editable) in a
# throwaway venv and run the fast test lane against that install: what a `pip install` user gets.
# The venv borrows .venv's third-party packages (torch & co) through a .pth line; the editable zoo finders
# there are .pth files of their own, which Python does not process from such a path, so zoo comes from the wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf build plugins/*/build tests/example_plugin/build  # stale staging copies would slip into the wheels
.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w "$work/wheels" . plugins/zoo-* tests/example_plugin
rm -rf build plugins/*/build tests/example_plugin/build  # setuptools' staging folders (git-ignored)
.venv/bin/python -m venv --without-pip "$work/venv"
py="$work/venv/bin/python"
purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
purelib .venv/bin/python > "$(purelib "$py")/zoo-deps.pth"
"$py" -m pip install -q --no-deps --no-index "$work"/wheels/*.whl
cd "$work"  # not the checkout: `python -m` puts the working directory on sys.path
"$py" - "$root" <<'PY'
import json, sys, zoo_core, zoo.plugin
from importlib.metadata import distribution
assert sys.argv[1] not in zoo_core.__file__, f"zoo_core came from the checkout: {zoo_core.__file__}"
url = json.loads(distribution("zoo-core").read_text("direct_url.json") or "{}")
assert "archive_info" in url, f"zoo-core is not installed from a wheel: {url}"
print(f"wheel-check: zoo_core from {zoo_core.__file__}")
PY
# The fast tests of what a wheel can get wrong (package data, entry points, the public API, the plugins' own tests),
# not the whole fast lane again (CI's 10 minutes): ~1 min of CPU (README's figure). Arguments replace this list.
lane=(tests/test_plugin_api.py tests/test_registry.py tests/test_plugin_cards.py tests/test_card_files.py
      tests/test_cli.py tests/test_upscale.py tests/test_lazy_builtins.py plugins)
[ $# -gt 0 ] && lane=("$@")
PATH="$work/venv/bin:$PATH" "$py" -m pytest -q -p no:cacheprovider -m "not slow" "${lane[@]/#/$root/}"
