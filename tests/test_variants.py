"""Card variant fields a family declares (no waifu2x axes in core) and the default model flag."""
from __future__ import annotations

import types

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo_core.cards import parse_card
from zoo_core.cli import main
from zoo_core.registry import build_registry

SHA = "0" * 64


def _card(name: str, arch: str = "cugan-like", **task) -> dict:
    return {"name": name, "architecture": arch, "task": {"scale": 2, **task},
            "weights": {"file": "w.safetensors", "sha256": SHA}, "license": "MIT", "description": "t"}


def _family_plugin(*cards: dict, variants: dict | None = None) -> types.ModuleType:
    """Real-CUGAN's axes: conservative (bool) and denoise levels, declared by the architecture."""
    module = types.ModuleType("cugan_like")

    @zoo.hookimpl
    def register_architectures(register):
        register(zoo.Architecture(id="cugan-like", build="zoo_example.model:build", scale=2, offset=0, context=1,
                                  variants=variants if variants is not None else
                                  {"conservative": (False, True), "noise_level": (-1, 0, 1, 2, 3)}))

    @zoo.hookimpl
    def register_model_cards(register):
        for card in cards:
            register(card)

    module.register_architectures = register_architectures
    module.register_model_cards = register_model_cards
    return module


def test_a_new_family_declares_its_own_variant_fields():
    reg = build_registry(extra_modules=[_family_plugin(
        _card("cugan-conservative", conservative=True, noise_level=-1),
        _card("cugan-denoise3x", conservative=False, noise_level=3),
    )])
    assert not [p for p in reg.problems if p.plugin == "cugan_like"]
    card = reg.cards["cugan-conservative"]
    assert card.variants == {"conservative": True, "noise_level": -1} and card.style == ""
    assert parse_card(card.to_dict()).variants == card.variants  # round trip keeps the family's fields
    assert reg.cards["cugan-denoise3x"].noise_level == 3


@pytest.mark.parametrize("task, expect", [
    ({"conservative": "maybe"}, "field 'task.conservative' must be one of False, True (architecture 'cugan-like')"),
    ({"style": "art"}, "unknown field 'task.style': architecture 'cugan-like' declares the variants"),
])
def test_a_card_outside_its_familys_variants_is_a_one_line_problem(task, expect):
    reg = build_registry(extra_modules=[_family_plugin(_card("cugan-bad", **task))])
    messages = [p.message for p in reg.problems if p.plugin == "cugan_like"]
    assert len(messages) == 1 and expect in messages[0] and "cugan-bad" not in reg.cards


def test_undeclared_variants_accept_plain_values_only():
    reg = build_registry(extra_modules=[_family_plugin(_card("free", tone="warm", strength=2), variants={})])
    assert reg.cards["free"].variants == {"tone": "warm", "strength": 2}
    with pytest.raises(zoo.CardError, match="task.tone' must be a string, integer or boolean"):
        parse_card(_card("x", tone=[1, 2]))
    with pytest.raises(zoo.CardError, match="task.noise_level' must be int >= -1"):
        parse_card(_card("x", noise_level=-2))


def test_shipped_cards_keep_their_waifu2x_fields():
    card = zoo.get_card("upconv7-photo-noise2")
    assert (card.style, card.noise_level, card.scale) == ("photo", 2, 2)
    assert card.to_dict()["task"] == {"scale": 2, "noise_level": 2, "style": "photo"}


def test_the_default_model_is_a_card_flag():
    from zoo_core.api import default_model

    reg = zoo.get_registry()
    assert reg.default_model().name == default_model().name == "upconv7-scale2x"
    assert not hasattr(reg, "default_card")  # one name per concept: an Architecture's default_card is another
    assert [c.name for c in reg.cards.values() if c.default] == ["upconv7-scale2x"]


def test_two_default_flags_are_reported_and_the_first_wins():
    reg = build_registry(extra_modules=[_family_plugin({**_card("cugan-default", noise_level=0), "default": True})])
    assert reg.default_model().name == "upconv7-scale2x"
    assert any("'cugan-default' says 'default: true' but 'upconv7-scale2x' already does" in p.message
               for p in reg.problems)


def test_no_default_model_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "upconv7")
    zoo.reset_registry()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    assert main(["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("zoo: error: No installed plugin marks a default model") and "-m NAME" in err[-1]


def test_noise_levels_come_from_the_installed_cards(tmp_path, capsys):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    assert main(["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"), "-q", "-n", "7"]) == 1
    err = capsys.readouterr().err
    assert "noise level 7" in err and "-1, 0, 1, 2, 3" in err


def test_a_card_whose_scale_is_not_its_networks_is_reported_at_registration():
    reg = build_registry(extra_modules=[_family_plugin(_card("cugan-3x", noise_level=0) | {"task": {"scale": 3}},
                                                       _card("cugan-2x", noise_level=0))])
    assert "cugan-2x" in reg.cards and "cugan-3x" not in reg.cards
    assert any("field 'task.scale' is 3, but architecture 'cugan-like' with these hyperparameters upscales 2x. "
               "Fix: set task.scale: 2" in p.message for p in reg.problems), reg.problems
