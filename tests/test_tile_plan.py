"""tile_plan.TilePlanner.concurrent: larger concurrent tiles where an image leaves room and fewer rounds compute less."""
from __future__ import annotations

import pytest

import zoo
from zoo_core.cost import OUTPUT_RESERVE, fits
from zoo_core.tile_plan import TilePlanner, image_bytes, round_cost

LINES = [[256, 1.0, 14.0, 1.0, 14.0]]  # ESPCN_7's widest map: 256 channels on the tile plus 7 px a side
PLAN = TilePlanner(LINES, preferred=256, scale=2, context=7, factor=15)


def test_round_cost_counts_a_short_last_round_whole():
    assert round_cost(512, 512, 256, 7, 2) == 2 * 270**2  # 4 tiles, 2 rounds of 2
    assert round_cost(512, 512, 192, 7, 2) == 5 * 185**2  # 9 tiles of 171: the ninth alone is a round
    assert round_cost(512, 512, 192, 7, 1) == 9 * 185**2


def test_larger_concurrent_tiles_where_this_image_leaves_room():
    assert PLAN.concurrent(512, 512, 192, 2) == 256  # 2 rounds of 270² instead of 5 of 185²
    room = OUTPUT_RESERVE - image_bytes(512, 512, 2)
    assert fits(LINES, 256, 2, 15, extra=room) and not fits(LINES, 256, 2, 15)  # only this image's room allows it
    assert PLAN.concurrent(4096, 4096, 192, 2) == 192  # its 201 MB output: 256 overruns the frame
    assert PLAN.concurrent(600, 600, 192, 2) == 192  # 16 tiles of 150 (8 rounds) beat 9 of 200 (5 rounds of 214²)
    assert PLAN.concurrent(512, 512, 256, 2) == 256  # nothing above the preferred tile
    assert TilePlanner(LINES, 256, 2, 7, 16).concurrent(512, 512, 192, 2) == 192  # a larger factor: 256 overruns


def test_the_layout_plans_concurrent_tiles_only_for_a_runner_that_does_not_gather():
    assert PLAN.layout(512, 512, 192, 2, gathers=False) == (256, 2)
    assert PLAN.layout(512, 512, 192, 2, gathers=True) == (192, 2)  # gathering: one at a time or nothing
    given = TilePlanner(LINES, 256, 2, 7, 15, resize=False)  # a batch given to zoo.load
    assert given.layout(512, 512, 192, 2, gathers=False) == (192, 2)


@pytest.mark.slow
def test_espcn7_runs_a_512_image_in_four_tiles_and_keeps_its_4096_layout():
    up = zoo.load("espcn7", backend="ncnn", threads=2)
    assert (up.tile_size, up.batch_size) == up.layout(4096, 4096) == (200, 2)
    assert up.layout(512, 512) == (256, 2)
    assert zoo.load("espcn7", backend="ncnn", threads=2, batch_size=2).layout(512, 512) == (200, 2)  # as given
