"""`zoo import` and `-m FILE`: a community file becomes a card like any other; what goes wrong is one line.

The models here are zoo's own Compact/ESRGAN modules with random weights (flows, not numerics: each plugin's
tests compare its recognised layouts against references written from the public descriptions)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo_core.cli import main
from zoo_core.conformance import measure_context
from zoo_core.weights.safetensors_io import sha256_file

pytestmark = pytest.mark.slow  # each imports a model (recognise, build, measure its field, export it to ncnn)


def compact_file(path: Path, seed: int = 0, **hp) -> Path:
    """A random SRVGGNetCompact state dict saved as BasicSR saves it ({'params': ...})."""
    torch.manual_seed(seed)
    arch = zoo.get_registry().architecture("compact")
    module = arch.create({"num_feat": 8, "num_conv": 2, "scale": 2, **hp})
    torch.save({"params": module.state_dict()}, path)
    return path


def home() -> Path:
    return Path(os.environ["ZOO_HOME"]) / "imported"


def test_import_then_list_info_load_and_reimport(tmp_path, capsys):
    src = compact_file(tmp_path / "Tiny Compact 2x.pth")
    assert main(["import", str(src)]) == 0
    out = capsys.readouterr().out
    assert "imported 'tiny-compact-2x': compact (compact), 2x" in out and "licence: unknown" in out
    assert "receptive field measured" in out and "backend: ncnn" in out
    assert main(["list"]) == 0 and "tiny-compact-2x" in capsys.readouterr().out
    assert main(["info", "tiny-compact-2x", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["license"] == "unknown" and info["plugin"] == "imported" and info["task"] == {"scale": 2}
    assert info["upstream"]["files"] == [{"path": src.name, "sha256": sha256_file(src)}]
    assert info["imported_checks"]["backend"] == "ncnn" and info["imported_checks"]["context_measured"] <= info["geometry"]["context"]
    weights = home() / "tiny-compact-2x.safetensors"
    assert info["weights"] == {"file": weights.name, "sha256": sha256_file(weights)}
    up = zoo.load("tiny-compact-2x")
    assert up.backend == "ncnn" and up.upscale(np.zeros((5, 7, 3), np.uint8)).shape == (10, 14, 3)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in home().iterdir())
    assert main(["import", str(src), "--name", "tiny-compact-2x"]) == 0
    assert "already imported as 'tiny-compact-2x'" in capsys.readouterr().out
    assert sorted((p.name, p.stat().st_mtime_ns) for p in home().iterdir()) == before


def test_m_file_imports_on_first_use_once(tmp_path, capsys):
    src = compact_file(tmp_path / "anime.pth")
    picture = tmp_path / "in.png"
    Image.fromarray(np.full((6, 8, 3), 120, np.uint8)).save(picture)
    for n in (1, 2):
        assert main(["upscale", str(picture), "-o", str(tmp_path / f"out{n}.png"), "-m", str(src)]) == 0
    assert Image.open(tmp_path / "out2.png").size == (16, 12)
    assert [p.name for p in home().glob("*.yaml")] == ["anime.yaml"]
    assert zoo.get_card(str(src)).name == "anime"


def test_the_licence_is_recorded_or_refused_in_one_line(tmp_path, capsys):
    src = compact_file(tmp_path / "m.pth")
    assert main(["import", str(src), "--license", "MIT; rm -rf"]) == 1
    assert "not an SPDX identifier" in capsys.readouterr().err and not home().exists()
    assert main(["import", str(src), "--license", "CC-BY-NC-SA-4.0", "--name", "nc-model"]) == 0
    assert zoo.get_card("nc-model").license == "CC-BY-NC-SA-4.0"


def test_a_taken_name_changes_nothing(tmp_path, capsys):
    one, two = compact_file(tmp_path / "one.pth"), compact_file(tmp_path / "two.pth", seed=1)
    assert main(["import", str(one), "--name", "realesrgan-x4plus"]) == 1
    assert "already a model or architecture name" in capsys.readouterr().err and not home().exists()
    assert main(["import", str(one), "--name", "mine"]) == 0
    card = (home() / "mine.yaml").read_bytes()
    assert main(["import", str(two), "--name", "mine"]) == 1
    err = capsys.readouterr().err
    assert "already named 'mine' (from one.pth)" in err and err.count("\n") == 1
    assert (home() / "mine.yaml").read_bytes() == card


def test_a_file_no_plugin_recognises_says_what_it_holds(tmp_path, capsys):
    torch.save({"encoder.weight": torch.zeros(4, 3, 3, 3), "decoder.weight": torch.zeros(3, 4, 1, 1)}, tmp_path / "x.pth")
    assert main(["import", str(tmp_path / "x.pth")]) == 1
    err = capsys.readouterr().err.strip()
    assert "no layout an installed plugin recognises (tried compact, esrgan-2019" in err
    assert "encoder.weight (4, 3, 3, 3)" in err and "\n" not in err


def test_a_file_two_plugins_claim_names_both(tmp_path, capsys, install_plugin):
    install_plugin("zoo-greedy", "zoo_greedy", """
        import zoo

        def claim(shapes):
            return zoo.Recognized(hyperparameters={}, keys={}, scale=2) if "body.0.weight" in shapes else None

        @zoo.hookimpl
        def register_recognizers(register):
            register(zoo.Recognizer(name="greedy", architecture="compact", recognize=claim))
    """)
    src = compact_file(tmp_path / "m.pth")
    assert main(["import", str(src)]) == 1
    err = capsys.readouterr().err.strip()
    assert "claimed by several recognizers: compact (compact), greedy (compact)" in err
    assert "body.0.weight (8, 3, 3, 3)" in err and "\n" not in err


def test_a_layout_zoo_cannot_run_is_the_plugins_one_line(tmp_path, capsys):
    torch.manual_seed(0)
    grey = {"body.0.weight": torch.zeros(8, 1, 3, 3), "body.0.bias": torch.zeros(8),
            "body.2.weight": torch.zeros(4, 8, 3, 3), "body.2.bias": torch.zeros(4)}
    torch.save(grey, tmp_path / "grey.pth")
    assert main(["import", str(tmp_path / "grey.pth")]) == 1
    assert "(compact): its convs take 1 and give 4 channels; zoo runs RGB Compact models" in capsys.readouterr().err


def test_weights_pth_points_at_zoo_import(tmp_path, capsys):
    src = compact_file(tmp_path / "m.pth")
    picture = tmp_path / "in.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(picture)
    assert main(["upscale", str(picture), "-o", str(tmp_path / "o.png"), "-m", "realesrgan-animevideov3-2x",
                 "--weights", str(src)]) == 1
    assert f"'zoo import {src}'" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


def test_push_stages_an_imported_card_like_any(tmp_path, capsys):
    assert main(["import", str(compact_file(tmp_path / "m.pth")), "--license", "MIT"]) == 0
    stage = tmp_path / "stage"
    assert main(["push", "m", "--repo-id", "me/models", "--dry-run", str(stage)]) == 0
    staged = [p for p in stage.rglob("*.safetensors")]
    assert len(staged) == 1 and sha256_file(staged[0]) == zoo.get_card("m").weights["sha256"]


@pytest.mark.parametrize("arch, hp", [
    ("esrgan", {"num_feat": 4, "num_grow_ch": 4, "scale": 2, "unshuffle": 2}),
    ("esrgan", {"num_feat": 4, "num_grow_ch": 4, "scale": 1, "unshuffle": 4, "plus": True}),
    ("esrgan", {"num_feat": 4, "num_grow_ch": 4, "scale": 8}),
    ("compact", {"num_feat": 4, "num_conv": 3, "scale": 3, "act": "leakyrelu"}),
    ("span", {"feature_channels": 4, "scale": 2, "norm": False}),
])
def test_declared_context_covers_the_measured_field_of_imported_shapes(arch, hp):
    """The geometry formulas the recognisers' hyperparameters reach, measured (conformance.measure_context)."""
    architecture = zoo.get_registry().architecture(arch)
    assert measure_context(architecture, hp) <= architecture.geometry(hp).context
