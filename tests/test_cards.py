"""Model cards are validated data: every shipped card loads; each kind of mistake names file and field."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import zoo
from zoo_core.cards import load_card_file, parse_card
from zoo_core.registry import check_card

REPO = Path(__file__).resolve().parents[1]
CARD_FILES = sorted(REPO.glob("plugins/*/*/cards/*.yaml"))

GOOD = {
    "name": "my-model",
    "architecture": "upconv7",
    "task": {"scale": 2, "noise_level": 1, "style": "art"},
    "weights": {"repo_id": "o/r", "filename": "w.safetensors", "revision": "main", "sha256": "0" * 64},
    "license": "MIT",
    "description": "test",
}


@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: p.stem)
def test_every_shipped_card_is_valid_and_registered(path):
    card = load_card_file(path)
    assert card.name == path.stem, "file name and card name must agree"
    assert zoo.get_card(card.name).source.endswith(path.name)
    arch = zoo.get_registry().architecture(card.architecture)
    assert arch.geometry(card.hyperparameters).scale == card.scale


def test_good_card_parses():
    card = parse_card(GOOD, "x.yaml")
    assert card.on_hub and card.noise_level == 1 and card.to_dict()["task"]["style"] == "art"


def _mutate(path: str, value):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("field, value, expect", [
    ("colour", "red", "unknown field 'colour'"),
    ("task.sacle", 2, "unknown field 'task.sacle'"),
    ("license", KeyError, "missing field 'license'"),
    ("task.scale", "two", "field 'task.scale' must be int"),
    ("task.noise_level", True, "field 'task.noise_level' must be int"),
    ("task.style", "sketch", "'task.style' must be one of"),
    ("weights.sha256", "abc", "weights.sha256"),
    ("name", "Bad Name", "field 'name'"),
])
def test_bad_cards_name_file_and_field(field, value, expect):
    with pytest.raises(zoo.CardError) as exc:  # task fields are checked against the variants upconv7 declares
        check_card(zoo.get_registry(), parse_card(_mutate(field, value), "cards/bad.yaml"))
    msg = str(exc.value)
    assert msg.startswith("cards/bad.yaml: ") and expect in msg and "\n" not in msg


def test_malformed_yaml(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(zoo.CardError, match=r"broken.yaml: malformed YAML at line"):
        load_card_file(p)


CARD_PLUGIN = """
import zoo

@zoo.hookimpl
def register_model_cards(register):
    register({cards})
"""


def test_plugin_cards_bad_ones_reported_good_ones_listed(install_plugin):
    good = dict(GOOD, name="plugin-good")
    unknown_arch = dict(GOOD, name="plugin-unknown-arch", architecture="nope")
    bad_hp = dict(GOOD, name="plugin-bad-hp", hyperparameters={"depth": 3})
    src = "\n".join(
        f"@zoo.hookimpl(specname='register_model_cards')\ndef c{i}(register):\n    register({c!r})\n"
        for i, c in enumerate([good, unknown_arch, bad_hp])
    )
    install_plugin("zoo-cards", "zoo_cards", "import zoo\n" + src)
    reg = zoo.get_registry()
    assert "plugin-good" in reg.cards and "upconv7-scale2x" in reg.cards
    messages = " | ".join(p.message for p in reg.problems)
    assert "field 'architecture' names 'nope'" in messages
    assert "no hyperparameter 'depth'" in messages
    assert "plugin-unknown-arch" not in reg.cards


def test_duplicate_card_names_across_plugins(install_plugin):
    card = dict(GOOD, name="upconv7-scale2x")
    install_plugin("zoo-cards", "zoo_cards", CARD_PLUGIN.format(cards=repr(card)))
    with pytest.raises(zoo.DuplicateNameError, match="zoo-cards"):
        zoo.get_card("upconv7-scale2x")
