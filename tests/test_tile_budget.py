"""The default tile's memory budget: widest feature maps from cost.py, capped_tile's arithmetic, zoo.load's use."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import zoo
from zoo_core.api import backend_named
from zoo_core.capabilities import kept_pixels as _kept_pixels
from zoo_core.default_plugins import ncnn_hints
from zoo_core.default_plugins.ncnn_hints import NcnnHints
from zoo_core.cost import (MIN_DEFAULT_TILE, OUTPUT_RESERVE, TILE_BUDGET, WORKING_SET, _measure, capped_tile, cost,
                           fits, fitting_workers, whole_image_side, widest_elements, working_set)
from zoo_core.tile_plan import KEPT_SHARE, TilePlanner, gathering_bytes, tiling_overhead
from zoo_core.infer.batch import Options, count_tiles
from zoo_core.infer.modes import Picture

FOUR_X = [[64, 4.0, 0.0, 4.0, 0.0]]  # one layer: 64 channels at 4x the tile's resolution


def charged(lines: list, tile: int, workers: int) -> float:
    """Bytes capped_tile charges for `workers` tiles of side `tile`."""
    return workers * WORKING_SET * 4 * widest_elements(lines, tile)


def test_capped_tile_is_the_largest_8_pixel_step_that_fits_the_budget():
    # 2 workers · 24 · 4 bytes · 64·16·t² <= 1.5e9  ⇔  t <= 87.3: from 256 in steps of 8, 80
    assert WORKING_SET == 24 and TILE_BUDGET == 1.5e9
    tile = capped_tile(256, FOUR_X, workers=2, context=10)
    assert tile == 80
    assert charged(FOUR_X, tile, 2) <= TILE_BUDGET < charged(FOUR_X, tile + 8, 2)
    assert capped_tile(256, FOUR_X, workers=1, context=10) == 120  # one worker: t <= 123.5
    assert capped_tile(256, [[3, 1.0, 0.0, 1.0, 0.0]], workers=2, context=10) == 256  # fits: unchanged


def test_capped_tile_stops_at_the_context_floor_and_never_grows():
    assert capped_tile(256, FOUR_X, workers=64, context=10) == MIN_DEFAULT_TILE
    assert capped_tile(256, FOUR_X, workers=64, context=120) == 120  # smaller tiles would be mostly context
    assert capped_tile(48, FOUR_X, workers=64, context=120) == 48  # never above the backend's preference


def test_widest_elements_counts_the_context_border():
    lines = [[64, 1.0, 188.0, 1.0, 188.0], [64, 4.0, 16.0, 4.0, 16.0]]  # a trunk on t+188, a 4x tail on 4(t+4)
    assert widest_elements(lines, 8) == 64 * 196 * 196  # small tiles: the trunk with its context
    assert widest_elements(lines, 256) == 64 * 1040 * 1040  # large tiles: the tail
    assert widest_elements([], 256) == 0


def _largest_map(name: str, tile: int) -> int:
    """Elements of the largest conv output on a real forward of one tile plus its context."""
    card = zoo.get_card(name)
    arch = zoo.get_registry().architecture(card.architecture)
    side = tile + 2 * arch.geometry(card.hyperparameters).context
    module, sizes = arch.create(card.hyperparameters).eval(), []
    convs = [m for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    handles = [m.register_forward_hook(lambda m, i, o: sizes.append(o.numel())) for m in convs]
    with torch.inference_mode():
        module(torch.zeros(1, 3, side, side))
    for h in handles:
        h.remove()
    return max(sizes)


def test_widest_layers_predict_a_real_tiles_largest_map():
    for name, tile in (("espcn7", 40), ("realcugan-se-4x", 40), ("realcugan-se-4x", 64)):
        card = zoo.get_card(name)
        lines = cost(zoo.get_registry().architecture(card.architecture), card.hyperparameters)["widest_layers"]
        assert widest_elements(lines, tile) == _largest_map(name, tile), (name, tile)


def test_the_meta_device_measures_what_the_cpu_measures():
    arch = zoo.get_registry().architecture("upconv7")
    assert _measure(arch, None, (30, 46), "meta") == _measure(arch, None, (30, 46), "cpu")


def test_fitting_workers_drops_concurrent_tiles_only_where_the_smallest_tile_overruns():
    assert fitting_workers(256, FOUR_X, workers=2, context=10) == 2  # 2 tiles of 64 fit
    assert fitting_workers(256, FOUR_X, workers=2, context=120) == 1  # 2 tiles of 120 would not
    assert fitting_workers(256, FOUR_X, workers=64, context=10) == 3  # 3·24·4·64·16·64² <= 1.5e9 < 4·…
    assert fitting_workers(256, [[64000, 4.0, 0.0, 4.0, 0.0]], workers=2, context=10) == 1  # never none


def test_load_caps_the_default_tile_and_an_explicit_tile_wins(monkeypatch):
    arch = _declaring(monkeypatch, "espcn7", None)  # the default factor, whatever the plugin declares
    lines = cost(arch)["widest_layers"]
    capped = zoo.load("espcn7", backend="ncnn")  # ncnn prefers 256: too wide for espcn7's 256-channel maps
    assert capped.tile_size == capped_tile(256, lines, workers=capped.batch_size, context=7) < 256
    assert zoo.load("espcn7", backend="ncnn", tile_size=256).tile_size == 256
    assert zoo.load("espcn7", backend="torch").tile_size is None  # no backend preference: the inferer's default
    monkeypatch.setattr("zoo_core.cost.TILE_BUDGET", 1e6)  # nothing fits: the smallest tile, one at a time
    assert (zoo.load("espcn7", backend="ncnn").tile_size, zoo.load("espcn7", backend="ncnn").batch_size) == (64, 1)
    assert zoo.load("espcn7", backend="ncnn", batch_size=3).batch_size == 3


def _declaring(monkeypatch, arch_id: str, factor: float | None) -> zoo.Architecture:
    """The architecture, its ncnn hints replaced by working_set=factor (None: no hints) for this test."""
    hints = zoo.get_registry().engine_hints
    if factor is None:
        monkeypatch.delitem(hints, f"ncnn:{arch_id}", raising=False)
    else:
        monkeypatch.setitem(hints, f"ncnn:{arch_id}", NcnnHints(architecture=arch_id, working_set=factor))
    return zoo.get_registry().architecture(arch_id)


def test_the_working_set_is_the_engines_and_an_architecture_without_hints_is_charged_the_default(monkeypatch):
    ncnn, torch_backend, card = backend_named("ncnn"), backend_named("torch"), zoo.get_card("espcn7")
    assert ncnn.working_set(card) == 15 and working_set(ncnn, card) == 15  # zoo-espcn7's NcnnHints
    assert not hasattr(zoo.get_registry().architecture("espcn7"), "working_set")  # not in the generic descriptor
    assert torch_backend.working_set(card) is None and working_set(torch_backend, card) == WORKING_SET == 24
    _declaring(monkeypatch, "espcn7", None)
    assert ncnn.working_set(card) is None and working_set(ncnn, card) == 24
    _declaring(monkeypatch, "espcn7", 9.5)
    assert working_set(ncnn, card) == 9.5


def test_a_declared_working_set_sizes_the_default_tile(monkeypatch):
    lines = cost(zoo.get_registry().architecture("espcn7"))["widest_layers"]
    tiles = {}
    for factor in (None, 12, 2):
        _declaring(monkeypatch, "espcn7", factor)
        up = zoo.load("espcn7", backend="ncnn")
        tiles[factor] = up.tile_size
        assert up.tile_size == capped_tile(256, lines, workers=up.batch_size, context=7, factor=factor or WORKING_SET)
    assert tiles[None] < tiles[12] < tiles[2] == 256  # a smaller factor, a larger tile, up to ncnn's preference


@pytest.mark.parametrize("bad", ["12", True, 0, 0.5, 5000, float("nan"), [12]])
def test_a_bad_working_set_is_one_zoo_error_line_at_registration(bad):
    with pytest.raises(zoo.ZooError) as err:
        NcnnHints(architecture="bad-ws", working_set=bad)
    message = str(err.value)
    assert "\n" not in message and "working_set must be a number from 1 to 1000" in message
    assert f"got {bad!r}" in message and "Fix: give working_set=" in message


def test_a_plugin_declaring_a_bad_working_set_is_reported_by_zoo_plugins(install_plugin):
    install_plugin("zoo-ws-bad", "zoo_ws_bad", """
        import zoo
        import zoo.plugin

        @zoo.hookimpl
        def register_architectures(register):
            register(zoo.Architecture(id="ws-bad", build=lambda *, scale=2: None, scale=2, offset=0, context=1))

        @zoo.hookimpl
        def register_engine_hints(register):
            register(zoo.plugin.NcnnHints(architecture="ws-bad", working_set="lots"))
        """)
    reg = zoo.get_registry()
    problems = [p.message for p in reg.problems if p.plugin == "zoo-ws-bad"]
    assert "ws-bad" in reg.architectures and "ncnn:ws-bad" not in reg.engine_hints  # the hints alone are left out
    assert len(problems) == 1 and "working_set must be a number from 1 to 1000" in problems[0], problems


def test_tiling_overhead_counts_the_context_each_tile_recomputes(monkeypatch):
    assert tiling_overhead(100, 100, 256, 19) == 1.0  # one tile: the whole padded image
    assert abs(tiling_overhead(128, 128, 112, 94) - (2 * 252) ** 2 / 316**2) < 1e-9  # 2×2 tiles of 64 + 188
    assert abs(tiling_overhead(320, 320, 256, 7) - (2 * 174) ** 2 / 334**2) < 1e-9  # 1.09: cheap context
    # one tile alone, with the 4096² 4x output's room less its own: 24·4·64·16·t² <= 1.5e9 + 805e6 - 3·(4t)²
    side = whole_image_side(FOUR_X)
    assert side == 152 and fits(FOUR_X, side, 1, extra=OUTPUT_RESERVE - 48 * side**2)
    assert not fits(FOUR_X, side + 8, 1, extra=OUTPUT_RESERVE - 48 * (side + 8) ** 2)
    assert whole_image_side(FOUR_X, 1, limit=64) == 64
    monkeypatch.setattr("zoo_core.cost.TILE_BUDGET", 0.0)
    tiny = [[1, 1.0, 0.0, 1.0, 0.0]]  # 4 bytes a pixel: the image's own output (3·scale² a pixel) counts too
    assert whole_image_side(tiny, 1, 4) == 3928 and whole_image_side(tiny, 1, 1) == 8192  # 52·t², 7·t² <= 805e6


class _Runner:
    """A runner that says nothing about image-wide statistics (or does, with `prepare_image`)."""

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return batch


def _upscaler(context: int, whole: int, gathers: bool = False, one: TilePlanner | None = None) -> zoo.Upscaler:
    """A 1x identity upscaler (default tile 112, batch 2); `one` plans larger tiles, else only the whole image."""
    if one is not None:
        planner: TilePlanner | None = dataclasses.replace(one, whole_image=whole)
    else:
        planner = TilePlanner([], 256, 1, context, 16, whole_image=whole, resize=False) if whole else None
    runner = _Runner()
    if gathers:
        runner.prepare_image = lambda tiles, tta: None  # type: ignore[attr-defined]
    geo = zoo.Geometry(scale=1, in_channels=3, out_channels=3, offset=0, context=context)
    return zoo.Upscaler(card=zoo.get_card("upconv7-scale2x"), geometry=geo, runner=runner, backend="test",
                        device="cpu", precision="fp32", tile_size=112, batch_size=2, planner=planner)


def test_the_default_tile_grows_to_the_whole_image_only_where_tiling_costs_more_and_it_fits():
    assert _upscaler(94, 200).tile_for(128, 100) == 128  # 94 px of context around 112-px tiles: one tile
    assert _upscaler(7, 200).tile_for(128, 100) == 112  # 7 px: the tiles are cheaper (UpConv_7's measurement)
    assert _upscaler(7, 200, gathers=True).tile_for(128, 100) == 128  # image-wide SE: no gathering passes
    assert _upscaler(94, 120).tile_for(128, 100) == 112  # the whole image would overrun the budget
    assert _upscaler(94, 200).tile_for(128, 100, tile_size=112) == 112  # an explicit tile wins
    assert _upscaler(94, 0).tile_for(128, 100) == 112  # zoo.load said never (an explicit tile, a GPU)
    assert _upscaler(94, 200).tile_for(100, 100) == 112  # one tile already


def test_load_lets_the_default_tile_grow_only_within_the_budget(monkeypatch):
    arch = _declaring(monkeypatch, "espcn7", 12)
    up = zoo.load("espcn7", backend="ncnn")
    assert up.planner.whole_image == whole_image_side(cost(arch)["widest_layers"], 12, 2) > up.tile_size
    assert zoo.load("espcn7", backend="ncnn", tile_size=96).planner is None
    assert zoo.load("espcn7", backend="torch").planner is None


def test_an_image_that_grows_to_one_tile_runs_once_and_is_unchanged():
    arr = np.random.default_rng(0).integers(0, 256, (128, 100, 3), dtype=np.uint8)
    for context, runs in ((94, 1), (7, 2)):  # 2: rows in 112-px tiles, columns fit
        ticks: list[int] = []
        up = _upscaler(context, 200)
        out = up.upscale_array(arr, on_tile=ticks.append)
        assert sum(ticks) == runs and np.array_equal(out, arr)
        assert count_tiles(Picture(pixels=arr), up, Options(scale=1)) == runs  # progress totals count the same


def test_a_working_set_function_of_the_hyperparameters_is_read_per_card(monkeypatch):
    hints = NcnnHints(architecture="realcugan", working_set=lambda hp: 30 if hp["scale"] == 4 else 10)
    read = [ncnn_hints.working_set("realcugan", {"scale": s}, hints) for s in (4, 2)]
    assert read == [30, 10]
    ncnn = backend_named("ncnn")
    assert ncnn.working_set(zoo.get_card("realcugan-se-4x")) > ncnn.working_set(zoo.get_card("realcugan-se-2x"))
    bad = NcnnHints(architecture="realcugan", working_set=lambda hp: 0)  # 4x: its 805 MB output too, above
    with pytest.raises(zoo.ZooError, match="working_set function must give a number from 1 to 1000, got 0. Fix:"):
        ncnn_hints.working_set("realcugan", {"scale": 2}, bad)


# 256 channels on the tile plus 16 px of context a side, 4x output, factor 16, four 288² runs kept at most
SE_LINES = [[256, 1.0, 32.0, 1.0, 32.0]]
SE = TilePlanner(SE_LINES, preferred=256, scale=4, context=16, factor=16, kept_pixels=4 * 288 * 288)


def test_gathering_bytes_count_one_tile_the_runs_kept_beside_it_and_the_images_bytes():
    one = 4 * 256 * 288**2  # a 256-px tile's widest map, in bytes
    images = 3 * 512 * 512 * 17  # the uint8 input and its 4x output
    assert gathering_bytes(SE_LINES, 512, 512, 256, scale=4, context=16, factor=16,
                           kept_pixels=4 * 288**2) == 16 * (1 + 3 * KEPT_SHARE) * one + images  # 4 tiles: 3 wait
    assert gathering_bytes(SE_LINES, 4096, 4096, 256, scale=4, context=16, factor=16, kept_pixels=4 * 288**2) == (
        16 * (1 + 4 * KEPT_SHARE) * one + 3 * 4096**2 * 17)  # 256 tiles: kept_pixels holds 4 of them
    assert gathering_bytes(SE_LINES, 512, 512, 256, scale=4, context=16, factor=16, kept_pixels=0) == 16 * one + images


def test_larger_tiles_one_at_a_time_depend_on_the_image_size():
    small = SE.one_at_a_time(512, 512, 128)  # 2x2 tiles of 256 instead of 4x4 of 128, within 4096²'s frame
    assert small == 256 and gathering_bytes(SE_LINES, 512, 512, 256, scale=4, context=16, factor=16,
                                            kept_pixels=SE.kept_pixels) <= TILE_BUDGET + OUTPUT_RESERVE
    assert SE.one_at_a_time(4096, 4096, 128) == 0  # its 805 MB output and the kept runs leave no room: the default stays
    assert SE.one_at_a_time(1024, 1024, 128) == 248  # 5x5 tiles of 205: 256 (4x4, 4 kept) would overrun
    assert gathering_bytes(SE_LINES, 1024, 1024, 256, scale=4, context=16, factor=16,
                           kept_pixels=SE.kept_pixels) > TILE_BUDGET + OUTPUT_RESERVE
    assert SE.one_at_a_time(512, 512, 248) == 256 and SE.one_at_a_time(512, 512, 256) == 0  # no larger tile than the preferred
    assert SE.one_at_a_time(600, 600, 200) == 0  # 3x3 of 200 against 3x3 of 200: nothing computed less


def test_the_layout_takes_larger_tiles_one_at_a_time_only_where_the_runner_gathers():
    assert _upscaler(16, 0, gathers=True, one=SE).layout(512, 512) == (256, 1)
    assert _upscaler(16, 0, gathers=True, one=SE).layout(4096, 4096) == (112, 2)  # the memory-safe default
    # no gathering passes: larger concurrent tiles, 4x4 of 128 in 8 rounds of 2 (5x5 of 103 took 13; 256 overruns)
    assert _upscaler(16, 0, one=SE).layout(512, 512) == (128, 2)
    assert _upscaler(16, 0, gathers=True, one=SE).layout(512, 512, tile_size=96) == (96, 2)  # an explicit tile wins
    assert _upscaler(16, 600, gathers=True, one=SE).layout(512, 512) == (512, 2)  # one whole-image tile first
    batches: list[int] = []
    up = _upscaler(16, 0, gathers=True, one=SE)
    up.runner.__class__ = type("Recording", (_Runner,), {"__call__": lambda s, b: batches.append(len(b)) or b})
    arr = np.random.default_rng(1).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    assert np.array_equal(up.upscale_array(arr), arr) and batches == [1, 1, 1, 1]
    assert count_tiles(Picture(pixels=arr), up, Options(scale=1)) == 4  # progress totals count the same


def test_kept_pixels_come_from_the_runner():
    assert _kept_pixels(_Runner()) == 0  # a runner that keeps no runs says nothing
    keeping = _Runner()
    keeping.keep_pixels = 1000  # type: ignore[attr-defined]
    assert _kept_pixels(keeping) == 1000
    from zoo_core.default_plugins import backend_ncnn

    assert _kept_pixels(zoo.load("cunet-scale2x", backend="ncnn", threads=2).runner) == backend_ncnn.KEEP_PIXELS > 0


@pytest.mark.parametrize("name, default", [("cunet-scale2x", (192, 2)), ("realcugan-se-2x", (176, 2)),
                                           ("realcugan-se-4x", (144, 2))])
def test_the_se_cards_keep_their_4096_layout_and_take_larger_tiles_on_512_where_they_fit(name, default):
    up = zoo.load(name, backend="ncnn", threads=2)
    assert up.layout(4096, 4096) == (up.tile_size, up.batch_size) == default
    # 4x: its kept runs (0.2 x 24 each) leave no room for 3x3 tiles of 171 at 512² (measured 3.8 at 1024²)
    assert up.layout(512, 512) == ((144, 2) if name.endswith("4x") else (256, 1))
    assert zoo.load(name, backend="ncnn", threads=2, batch_size=2).layout(512, 512) == (up.tile_size, 2)  # as given
