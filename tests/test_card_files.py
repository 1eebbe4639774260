"""`zoo upscale -m CARD.yaml` runs the card file itself; untrained cards are listed and refused with one line."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
import yaml
from PIL import Image

import zoo
import zoo_core.registry as registry
from zoo_core.cli import main
from zoo_core.registry import build_registry
from zoo_core.weights.safetensors_io import load_safetensors, save_safetensors

FAST = ["--backend", "torch", "-q", "--threads", "1"]


def _card_file(tmp_path, name: str, weights_file: str | None, sha: str | None):
    data = zoo.get_card("drrn-lite").to_dict()
    data["name"] = data["name"] if name == "same" else name
    data.pop("metrics", None)
    if weights_file is None:
        data.pop("weights")
    else:
        data["weights"] = {"file": weights_file, "sha256": sha}
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _weights(tmp_path, scale: float = 1.0):
    """The shipped DRRN-lite tensors (times `scale`) in a file next to the card, and its sha256."""
    tensors, meta = load_safetensors(zoo.fetch("drrn-lite"))
    path = tmp_path / f"w{scale}.safetensors"
    return path, save_safetensors(path, {k: v * scale for k, v in tensors.items()}, meta)


def _image(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(path)
    return path


def _upscale(tmp_path, model: str, out: str, *extra: str) -> int:
    return main(["upscale", str(_image(tmp_path)), "-o", str(tmp_path / out), "-m", model, *FAST, *extra])


def test_an_unregistered_card_file_runs_with_its_own_weights(tmp_path):
    weights, sha = _weights(tmp_path)
    card = _card_file(tmp_path, "my-drrn", weights.name, sha)  # a path relative to the card file
    assert _upscale(tmp_path, str(card), "mine.png") == 0
    assert _upscale(tmp_path, "drrn-lite", "shipped.png") == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "mine.png")), np.asarray(Image.open(tmp_path / "shipped.png")))


@pytest.mark.slow
def test_a_card_file_with_a_shipped_name_runs_its_own_weights(tmp_path):
    weights, sha = _weights(tmp_path, scale=0.5)
    card = _card_file(tmp_path, "same", weights.name, sha)  # a card names paths inside its folder (card_paths.py)
    assert _upscale(tmp_path, str(card), "mine.png", "-s", "4") == 0  # two passes, both with the file's weights
    assert _upscale(tmp_path, "drrn-lite", "shipped.png", "-s", "4") == 0
    mine, shipped = (np.asarray(Image.open(tmp_path / n)) for n in ("mine.png", "shipped.png"))
    assert mine.shape == shipped.shape == (48, 48, 3) and not np.array_equal(mine, shipped)


def test_a_card_file_checks_its_own_sha256(tmp_path, capsys):
    weights, _ = _weights(tmp_path)
    card = _card_file(tmp_path, "my-drrn", weights.name, "0" * 64)
    assert _upscale(tmp_path, str(card), "x.png") == 1
    assert "sha256" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_an_untrained_card_file_is_refused_in_one_line(tmp_path, capsys):
    card = _card_file(tmp_path, "not-yet", None, None)
    assert not zoo.get_card(str(card)).trained
    assert _upscale(tmp_path, str(card), "x.png") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("zoo: error: Model 'not-yet'") and "is untrained" in err[-1] and "--weights" in err[-1]
    weights, _ = _weights(tmp_path)
    assert _upscale(tmp_path, str(card), "y.png", "--weights", str(weights)) == 0  # weights given: it runs


@pytest.mark.slow
def test_an_untrained_registered_card_is_listed_as_untrained(tmp_path, monkeypatch, capsys):
    data = zoo.get_card("drrn-lite").to_dict()
    data.update(name="drrn-untrained")
    data.pop("weights")
    data.pop("metrics", None)
    module = types.ModuleType("untrained_cards")

    @zoo.hookimpl
    def register_model_cards(register):
        register(data)

    module.register_model_cards = register_model_cards
    monkeypatch.setattr(registry, "_registry", build_registry(extra_modules=[module]))
    assert main(["list", "drrn"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("drrn-untrained"))
    assert line.rstrip().endswith("untrained")
    assert main(["list", "drrn-untrained", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["trained"] is False
    with pytest.raises(zoo.WeightsError, match="is untrained"):
        zoo.fetch("drrn-untrained")
    assert main(["fetch", "drrn-untrained"]) == 1
