"""UpConv_7's network: the size figures the design notes and the cards quote."""
from __future__ import annotations

import pytest

import zoo
from zoo.plugin import cost
from zoo.plugin import isolated_zoo  # noqa: F401  (autouse: offline, private cache, one thread)


@pytest.mark.slow
def test_costs_match_the_design_notes():
    up = cost(zoo.get_registry().architecture("upconv7"))
    assert up["parameters"] == 552_480 and round(up["macs_per_input_pixel"]) == 551_856
    assert up["macs_per_output_pixel"] == pytest.approx(up["macs_per_input_pixel"] / 4)  # 2x: four outputs per input
