"""Which DRRN-lite is which: drrn-lite is the light 3-unit card, drrn-lite-7u the 7-unit one (since session 15)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import zoo
from zoo.plugin import cost

REPO = Path(__file__).resolve().parents[3]


def _units(name: str) -> int:
    return int(zoo.get_card(name).hyperparameters["units"])


def test_drrn_lite_is_the_light_3_unit_model():
    assert _units("drrn-lite") == 3 and _units("drrn-lite-7u") == 7


@pytest.mark.slow
def test_drrn_lite_has_at_most_a_quarter_of_upconv7s_multiply_adds():
    reg = zoo.get_registry()
    light = cost(reg.architecture("drrn-lite"), zoo.get_card("drrn-lite").hyperparameters)["macs_per_input_pixel"]
    assert light <= 0.25 * cost(reg.architecture("upconv7"))["macs_per_input_pixel"]  # issue 13: <= 1/4 of UpConv_7


def test_the_light_model_and_the_noise_cards_start_from_the_7_unit_weights():
    for name in ("drrn-lite", "drrn-lite-noise1", "drrn-lite-noise3"):
        model = yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text())["model"]
        assert model["init_from"].endswith("drrn-lite-7u/ckpt-00009000.safetensors"), name  # EMA = 7u until session 17


def test_the_old_name_drrn_lite_fast_is_gone():
    assert "drrn-lite-fast" not in zoo.get_registry().cards
