"""The stranger's journey end to end: a plugin laid out as CONTRIBUTING.md says (hyperparameters only in its
builder's signature, context checked by `zoo plugins --check`), an untrained card, two training steps with `zoo train`, `zoo push --dry-run` of the exported card, `zoo upscale -m CARD.yaml`."""
from __future__ import annotations

import hashlib
import importlib
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from PIL import Image

import zoo
from zoo_core.cli import main

MODEL = '''
"""A 3x3 conv and a PixelShuffle."""
from torch import nn


def build(*, channels: int = 3, scale: int = 2) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
'''
HOOKS = '''
"""hooks"""
import zoo


@zoo.hookimpl
def register_architectures(register):
    register(zoo.Architecture(id="mynet", build="zoo_mynet.model:build", scale=2, offset=0, context=1,
                              default_card="mynet-2x"))
'''
CARD = """name: mynet-2x
architecture: mynet
task: {scale: 2, noise_level: -1, style: art}
license: MIT
description: Written before the first training, so it names no weights yet.
"""


def _plugin(site: Path) -> None:
    """The package of CONTRIBUTING.md's section 1 plus the metadata pip would write for it."""
    pkg = site / "zoo_mynet"
    (pkg / "cards").mkdir(parents=True)
    (pkg / "weights").mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(HOOKS))
    (pkg / "model.py").write_text(textwrap.dedent(MODEL))
    (pkg / "cards" / "mynet-2x.yaml").write_text(CARD)
    info = site / "zoo_mynet-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-mynet\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[zoo]\nmynet = zoo_mynet\n")


@pytest.mark.slow
def test_plugin_trains_pushes_and_upscales_from_its_exported_card(tmp_path, monkeypatch, capsys):
    site = tmp_path / "site"
    _plugin(site)
    monkeypatch.syspath_prepend(str(site))
    for name in [m for m in sys.modules if m == "zoo_mynet" or m.startswith("zoo_mynet.")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    zoo.reset_registry()
    card = zoo.get_card("mynet-2x")
    assert not card.trained and card.source.endswith("cards/mynet-2x.yaml")
    assert zoo.get_registry().architecture("mynet").defaults() == {"channels": 3, "scale": 2}  # written once: build()
    assert main(["plugins", "--check", "mynet"]) == 0  # context=1 covers the measured receptive field
    Image.new("RGB", (12, 10), (200, 40, 90)).save(tmp_path / "in.png")
    assert main(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "x.png"), "-m", "mynet-2x"]) == 1
    assert "untrained" in capsys.readouterr().err

    config = {
        "name": "mynet-2x",
        "model": {"architecture": "mynet"},  # the builder's defaults: hyperparameters are written once
        "data": {"synthetic": {"count": 2, "size": 48, "seed": 1}, "patch_size": 16, "max_patch_per_img": 2},
        "degradation": {"name": "seed-jpeg", "options": {"noise_level": 1}},
        "optim": {"steps": 2, "batch_size": 2, "lr": 0.01, "warmup_steps": 1, "threads": 1},
        "validate": {"every": 2, "synthetic": {"count": 1, "size": 24, "seed": 9}},
        "run_dir": str(tmp_path / "runs" / "mynet"),
        "checkpoint_every": 2,
        "export": {"weights": str(site / "zoo_mynet" / "weights" / "mynet-2x.safetensors"),
                   "weights_ref": "zoo_mynet:weights/mynet-2x.safetensors",
                   "card": str(site / "zoo_mynet" / "cards" / "mynet-2x.yaml"), "card_name": "mynet-2x"},
    }
    (tmp_path / "mynet.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "mynet.yaml")]) == 0
    export = tmp_path / "runs" / "mynet" / "export"
    weights, exported = export / "mynet-2x.safetensors", export / "mynet-2x.yaml"
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert yaml.safe_load(exported.read_text())["weights"] == {"file": "mynet-2x.safetensors", "sha256": sha}
    assert not (site / "zoo_mynet" / "weights" / "mynet-2x.safetensors").exists()  # no --install: run dir only
    capsys.readouterr()

    stage = tmp_path / "stage"
    assert main(["push", str(exported), "--repo-id", "me/mynet", "--dry-run", str(stage)]) == 0
    assert "repo_id: me/mynet, filename: mynet-2x.safetensors" in capsys.readouterr().out
    assert sorted(p.name for p in stage.iterdir()) == ["README.md", "mynet-2x.safetensors"]
    assert (stage / "mynet-2x.safetensors").read_bytes() == weights.read_bytes()
    assert f"sha256: {sha}" in (stage / "README.md").read_text()

    out = tmp_path / "out.png"
    assert main(["upscale", str(tmp_path / "in.png"), "-o", str(out), "-m", str(exported)]) == 0
    assert Image.open(out).size == (24, 20)

    assert main(["train", str(tmp_path / "mynet.yaml"), "--export-only", "--install"]) == 0
    zoo.reset_registry()
    installed = zoo.get_card("mynet-2x")  # the plugin's own card now names the trained weights
    assert installed.weights == {"file": "zoo_mynet:weights/mynet-2x.safetensors", "sha256": sha}
