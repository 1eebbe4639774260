"""`zoo --help`, `zoo list`, `zoo info`, `zoo plugins` never import torch (it is imported where a network is built)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo_core.cost import cached_cost, cost_key

# Runs one command in a fresh interpreter and reports who imported torch, if anyone did.
PROBE = """
import builtins, json, sys, traceback
first = []
real = builtins.__import__
def spy(name, *args, **kwargs):
    if name.split(".")[0] == "torch" and "torch" not in sys.modules and not first:
        first.append([f.filename for f in traceback.extract_stack()[:-1] if "importlib" not in f.filename][-3:])
    return real(name, *args, **kwargs)
builtins.__import__ = spy
from zoo_core.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "by": first}), file=sys.stderr)
"""
COMMANDS = (["--help"], ["list"], ["list", "--all"], ["info", "upconv7-noise1"], ["info", "espcn7", "--json"], ["plugins"])


def _probe(args: list[str], env: dict[str, str]) -> dict:
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=300)
    return json.loads(r.stderr.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def warm_home(tmp_path_factory) -> str:
    """A ZOO_HOME where each model's cost is already measured, as after the first `zoo list` (that builds them)."""
    home = str(tmp_path_factory.mktemp("warm_home"))
    env = {**os.environ, "ZOO_HOME": home, "HF_HUB_OFFLINE": "1"}
    env.pop("ZOO_DISABLE_PLUGINS", None)
    _probe(["list"], env)
    return home


@pytest.mark.slow
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_light_commands_do_not_import_torch(args, warm_home):
    env = {**os.environ, "ZOO_HOME": warm_home, "HF_HUB_OFFLINE": "1"}
    result = _probe(args, env)
    assert result["code"] in (0, None)
    assert not result["torch"], f"zoo {' '.join(args)} imported torch, first from {result['by']}"


@pytest.mark.slow
def test_importing_zoo_does_not_import_torch():
    r = subprocess.run([sys.executable, "-c", "import sys, zoo; zoo.get_registry(); print('torch' in sys.modules)"],
                       capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.stdout.strip() == "False", r.stderr
    assert zoo.Upscaler.__name__ == "Upscaler"  # still there, imported on first use


def test_cost_cache_hits_and_follows_the_source(monkeypatch):
    reg = zoo.get_registry()
    arch = reg.architecture("drrn-lite")
    first = cached_cost(arch)
    path = Path(os.environ["ZOO_HOME"]) / "costs.json"
    table = json.loads(path.read_text())
    key = cost_key(arch)
    assert table[key] == first and first["parameters"] == 22_860
    table[key] = {**first, "parameters": 7}  # a hit returns what is stored, without measuring again
    path.write_text(json.dumps(table))
    assert cached_cost(arch)["parameters"] == 7
    assert cost_key(arch, {"recursions": 3}) != key
    monkeypatch.setattr("zoo_core.cost._builder_file", lambda a: Path(__file__))  # the builder's source changed
    assert cost_key(arch) != key
    assert cached_cost(arch)["parameters"] == 22_860
