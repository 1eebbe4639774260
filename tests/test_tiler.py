"""Exact tiling: tiled == whole-image inference for every registered architecture and many shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo_core.architecture import Geometry
from zoo_core.infer.tiler import axis_spans, make_plan, reference, run_tiled
from infer_helpers import make_upscaler, random_model, runner_of

SHAPES = [(1, 1), (5, 3), (9, 40), (23, 10)]  # 1×1, smaller than a tile, wide, tall and odd
TILES = [8, 9, 16, 10_000]  # below MIN_TILE (8) a tile is raised to 8


@pytest.fixture
def one_thread():
    """MKL splits a matrix product across threads by its shape, so sums over a tile and over the whole image
    may round differently with 2+ threads (vgg7's full-resolution convs do); one thread keeps them exact."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_axis_spans_cover_once_with_equal_lengths():
    for size in (1, 2, 7, 255, 256, 257, 300, 1000):
        for tile in (1, 3, 64, 256, 5000):
            spans = axis_spans(size, tile)
            assert len({s.length for s in spans}) == 1 and spans[0].length <= max(tile, 1)
            assert spans[0].own_from == 0 and spans[-1].own_to == size
            for a, b in zip(spans, spans[1:]):
                assert a.own_to == b.own_from and b.own_from < b.own_to
            for s in spans:  # a tile owns only pixels it read, and reads inside the image
                assert s.start <= s.own_from < s.own_to <= s.start + s.length <= size
    assert [s.length for s in axis_spans(300, 256)] == [150, 150]  # evened out, no sliver tile


@pytest.mark.slow
@pytest.mark.parametrize("arch_id", sorted(zoo.get_registry().architectures))
def test_tiled_equals_whole_bit_for_bit_with_reference_convolutions(arch_id, one_thread):
    """With PyTorch's reference convolution (no oneDNN), tiling is exact: == on floats."""
    module, geo = random_model(arch_id)
    run = runner_of(module)
    g = torch.Generator().manual_seed(1)
    with torch.backends.mkldnn.flags(enabled=False):
        for h, w in SHAPES:
            img = torch.rand(3, h, w, generator=g)
            whole = reference(run, img, geo)
            assert whole.shape == (3, h * geo.scale, w * geo.scale)
            for tile in TILES:
                for batch in (3,) if tile == 8 else (1,):
                    out = run_tiled(run, img, geo, tile=tile, batch=batch)
                    assert torch.equal(out, whole), (arch_id, h, w, tile, batch)


@pytest.mark.slow
@pytest.mark.parametrize("arch_id", sorted(zoo.get_registry().architectures))
def test_extreme_aspect_ratios(arch_id, one_thread):
    """1×130 and 130×2: one tile row, many tile columns (and the transpose), still exact."""
    module, geo = random_model(arch_id)
    run = runner_of(module)
    with torch.backends.mkldnn.flags(enabled=False):
        for h, w in ((1, 130), (130, 2)):
            img = torch.rand(3, h, w, generator=torch.Generator().manual_seed(h))
            assert torch.equal(run_tiled(run, img, geo, tile=64, batch=2), reference(run, img, geo))


@pytest.mark.slow
@pytest.mark.parametrize("arch_id", sorted(zoo.get_registry().architectures))
def test_tiled_close_to_whole_with_onednn(arch_id):
    """oneDNN picks kernels by tensor shape, so other tile sizes may differ in the last bits only."""
    module, geo = random_model(arch_id)
    run = runner_of(module)
    img = torch.rand(3, 21, 34, generator=torch.Generator().manual_seed(2))
    whole = reference(run, img, geo)
    for tile in (8, 13, 10_000):
        out = run_tiled(run, img, geo, tile=tile, batch=2)
        assert (out - whole).abs().max().item() <= 1e-4  # measured ≤ 3e-5 (docs/robustness.md)


@pytest.mark.slow
def test_same_tile_shape_gives_identical_pixels_with_onednn():
    """All tiles of a run share one shape, so oneDNN runs the same kernels on each: a pixel's value does
    not depend on the image around it beyond the receptive field — bit for bit, even with oneDNN."""
    module, geo = random_model("upconv7")
    run = runner_of(module)
    a = torch.rand(3, 30, 30, generator=torch.Generator().manual_seed(3))
    b = torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(4))
    b[:, :30, :30] = a
    assert {(r.length, c.length) for r, c in make_plan(30, 30, geo, 12).tiles()} == {(10, 10)}
    assert {(r.length, c.length) for r, c in make_plan(40, 40, geo, 12).tiles()} == {(10, 10)}
    out_a, out_b = run_tiled(run, a, geo, tile=12, batch=1), run_tiled(run, b, geo, tile=12, batch=1)
    assert torch.equal(out_a[:, :40, :40], out_b[:, :40, :40])  # tiles (0..1, 0..1) see the same pixels


@pytest.mark.slow
def test_tta_tiled_equals_whole_image_tta(one_thread):
    module, geo = random_model("upconv7")
    run = runner_of(module)
    img = torch.rand(3, 19, 17, generator=torch.Generator().manual_seed(4))
    from zoo_core.infer.tiler import TTA_TRANSFORMS, _apply, _invert

    with torch.backends.mkldnn.flags(enabled=False):
        whole = sum(_invert(reference(run, _apply(img, *t).contiguous(), geo), *t) for t in TTA_TRANSFORMS) / 8
        for tile in (8, 9, 100):
            assert torch.equal(run_tiled(run, img, geo, tile=tile, tta=True), whole)


def test_size_multiple_is_met_by_extra_replicated_context():
    """An architecture that needs sides divisible by 4 still gets exact tiles of any size."""
    seen = []

    def run(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        assert x.shape[-1] % 4 == 0 and x.shape[-2] % 4 == 0
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    geo = Geometry(scale=2, in_channels=3, out_channels=3, offset=0, context=1, size_multiple=4)
    img = torch.rand(3, 19, 14, generator=torch.Generator().manual_seed(5))
    whole = reference(run, img, geo)
    for tile in (8, 11, 100):
        assert torch.allclose(run_tiled(run, img, geo, tile=tile), whole, atol=1e-6, rtol=0)
    assert seen


def test_batch_and_tile_counts_reach_the_runner():
    calls = []

    def run(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return x.repeat_interleave(2, -1).repeat_interleave(2, -2)

    up = make_upscaler(run, context=0, tile=10, batch=3)
    ticks = []
    arr = np.zeros((25, 41, 3), np.uint8)
    up.upscale(arr, on_tile=ticks.append)
    assert sum(calls) == 3 * 5 and max(calls) == 3  # 3×5 tiles in batches of at most 3
    assert sum(ticks) == 15
