"""CONTRIBUTING.md's plugin recipe works as written: its code registers with the hyperparameters written once and
a context that covers the measured receptive field; its pyproject builds a wheel even after `zoo train` made runs/."""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import zoo
from zoo_core.conformance import measure_context

REPO = Path(__file__).resolve().parents[1]
CARD = """name: mynet-2x
architecture: mynet
task: {scale: 2, noise_level: -1, style: art}
weights: {file: "zoo_mynet:weights/mynet-2x.safetensors", sha256: "%s"}
license: MIT
description: test
""" % ("0" * 64)


def _python(first_line: str) -> str:
    """The ```python block of CONTRIBUTING.md that starts with this comment line."""
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return next(block for block in re.findall(r"```python\n(.*?)```", text, re.S) if block.startswith(first_line))


def _snippet() -> str:
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return next(block for block in re.findall(r"```toml\n(.*?)```", text, re.S) if "[project]" in block)


def test_snippet_declares_what_a_build_needs():
    toml = _snippet()
    for needed in ("[build-system]", "[tool.setuptools.packages.find]", 'include = ["zoo_mynet*"]', '"cards/*.yaml"',
                   '"weights/*.safetensors"', "[project.entry-points.zoo]"):
        assert needed in toml


@pytest.mark.slow
def test_snippet_builds_a_wheel_next_to_a_runs_folder(tmp_path):
    pytest.importorskip("setuptools")
    root = tmp_path / "zoo-mynet"
    (root / "zoo_mynet" / "cards").mkdir(parents=True)
    (root / "zoo_mynet" / "weights").mkdir()
    (root / "pyproject.toml").write_text(_snippet())
    (root / "zoo_mynet" / "__init__.py").write_text('"""hooks"""\n')
    (root / "zoo_mynet" / "cards" / "mynet-2x.yaml").write_text(CARD)
    (root / "zoo_mynet" / "weights" / "mynet-2x.safetensors").write_bytes(b"\0" * 8)
    for folder in ("runs/mynet/export", "configs", "data"):  # what training leaves beside the package
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path / "dist"), str(root)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("zoo_mynet-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "zoo_mynet/cards/mynet-2x.yaml" in names and "zoo_mynet/weights/mynet-2x.safetensors" in names
    assert not any(n.startswith(("runs/", "configs/", "data/")) for n in names)


@pytest.mark.slow
def test_code_registers_with_hyperparameters_written_once(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "zoo_mynet" / "cards").mkdir(parents=True)
    hooks, model = _python("# zoo_mynet/__init__.py"), _python("# zoo_mynet/model.py")
    assert "hyperparameters=" not in hooks  # the builder's signature is the one place they are written
    (site / "zoo_mynet" / "__init__.py").write_text(hooks)
    (site / "zoo_mynet" / "model.py").write_text(model)
    (site / "zoo_mynet" / "cards" / "mynet-2x.yaml").write_text(CARD)
    info = site / "zoo_mynet-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-mynet\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[zoo]\nmynet = zoo_mynet\n")
    monkeypatch.syspath_prepend(str(site))
    for name in [m for m in sys.modules if m == "zoo_mynet" or m.startswith("zoo_mynet.")]:
        monkeypatch.delitem(sys.modules, name)
    zoo.reset_registry()
    reg = zoo.get_registry()
    assert [p.message for p in reg.problems if p.plugin == "mynet"] == []
    arch = reg.architecture("mynet")
    assert arch.defaults() == {"channels": 32, "scale": 2} and zoo.get_card("mynet").name == "mynet-2x"
    assert measure_context(arch) == arch.geometry().context == 2  # what the snippet's docstring and context say
