"""The tiler's generic hooks: tiles on a size_multiple grid, and prepare_image for image-wide statistics."""
from __future__ import annotations

import math

import pytest
import torch

from zoo import Geometry, ZooError
from zoo_core.infer.tiler import axis_spans, run_tiled


@pytest.mark.parametrize("size,tile,align", [(1, 8, 4), (30, 8, 2), (37, 12, 4), (300, 256, 4), (9, 16, 4)])
def test_aligned_spans_sit_on_the_grid_and_own_every_pixel_once(size, tile, align):
    spans = axis_spans(size, tile, align)
    assert all(s.start % align == 0 and s.length % align == 0 for s in spans)
    assert spans[0].own_from == 0 and spans[-1].own_to == size
    assert all(a.own_to == b.own_from for a, b in zip(spans, spans[1:]))
    assert all(s.start <= s.own_from < s.own_to <= s.start + s.length for s in spans)
    assert spans[-1].start + spans[-1].length < size + align  # at most align-1 replicated pixels past the end


def test_prepare_image_sees_every_tile_with_ownership_that_partitions_the_image():
    seen, closed = [], []

    class Runner:
        def __call__(self, batch: torch.Tensor) -> torch.Tensor:
            return batch  # offset 0, scale 1: the identity (the tiler crops the context)

        def prepare_image(self, tiles, *, tta):
            seen.extend((origin, rows, cols) for _, origin, rows, cols in tiles())

            class Handle:
                def close(self) -> None:
                    closed.append(True)
            return Handle()

    geo = Geometry(scale=1, in_channels=3, out_channels=3, offset=0, context=2, size_multiple=2)
    img = torch.rand(3, 13, 10)
    assert torch.equal(run_tiled(Runner(), img, geo, tile=8), img)
    assert closed == [True] and len(seen) == 2 * 2  # 13 rows: two tiles of 8; 10 columns: two of 6
    for (y0, x0), rows, cols in seen:
        assert (y0 + 2) % 2 == 0 and (x0 + 2) % 2 == 0  # tile starts on the grid (origin = start - context)
    cover = torch.zeros(13, 10, dtype=torch.int64)
    for _, (r0, r1), (c0, c1) in seen:
        cover[max(0, r0) if r0 > -math.inf else 0:min(13, r1), max(0, c0) if c0 > -math.inf else 0:min(10, c1)] += 1
    assert bool((cover == 1).all())


def test_a_prepare_image_that_refuses_stops_the_image_in_one_line():
    class Runner:
        def __call__(self, batch: torch.Tensor) -> torch.Tensor:
            return batch

        def prepare_image(self, tiles, *, tta):
            raise ZooError("no --tta for this model")

    geo = Geometry(scale=1, in_channels=3, out_channels=3, offset=0, context=0)
    with pytest.raises(ZooError, match="no --tta"):
        run_tiled(Runner(), torch.rand(3, 5, 5), geo, tile=8, tta=True)
