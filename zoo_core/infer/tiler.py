"""Exact tiled inference.

Every tile of one run has the same shape and carries `context` pixels of real neighbours per side
(edge-replicated only at the image border), so tiles are placed side by side with no blending. Each
output pixel is written by exactly one tile. Because all tiles share one shape, the convolution
library runs the same kernels on every tile: results do not depend on where a pixel lies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..architecture import Geometry
from ..capabilities import image_statistics
from .tiling import DEFAULT_TILE  # the tile a plan without one uses: the tiling policy's CPU default

Runner = Callable[[torch.Tensor], torch.Tensor]
TileReader = Callable[[np.ndarray, np.ndarray], torch.Tensor]  # (rows, cols) → CHW float tile
MIN_TILE = 8  # smaller tiles are all context and overhead (and 1-pixel ones hit BLAS's matrix-vector path)


def pad_edges(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Edge-replicate (N)CHW by `pad` pixels per side, as the original waifu2x does at image borders."""
    if pad == 0:
        return x
    squeeze = x.dim() == 3
    y = F.pad(x[None] if squeeze else x, (pad, pad, pad, pad), mode="replicate")
    return y[0] if squeeze else y


@dataclass(frozen=True)
class Span:
    """One tile along one axis: it reads [start, start+length) and owns output [own_from, own_to)."""

    start: int
    length: int
    own_from: int
    own_to: int


def axis_spans(size: int, tile: int, align: int = 1) -> list[Span]:
    """Equal-length tiles covering `size`; the last one is shifted back rather than made smaller.

    Starts and lengths are multiples of `align` (a network that downsamples by `align` then sees every
    tile on the whole image's grid); the last tile may then read up to align-1 replicated pixels past the end.
    """
    if size < 1:
        raise ValueError(f"cannot tile an axis of size {size}")
    count = math.ceil(size / max(1, tile))
    length = -(-math.ceil(size / count) // align) * align  # evened out: 300 px with tile 256 → two tiles of 150
    last = -(-(size - length) // align) * align if size > length else 0
    spans, done = [], 0
    for i in range(count):
        start = min(i * length, last)
        spans.append(Span(start, length, done, min(start + length, size)))
        done = min(start + length, size)
    return spans


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one image: rows × columns of equal-shaped tiles."""

    rows: list[Span]
    cols: list[Span]
    context: int
    extra_h: int  # replicated pixels added at the bottom/right so sides meet `size_multiple`
    extra_w: int

    @property
    def count(self) -> int:
        """Number of tiles."""
        return len(self.rows) * len(self.cols)

    def tiles(self) -> list[tuple[Span, Span]]:
        """Every (row span, column span), row-major."""
        return [(r, c) for r in self.rows for c in self.cols]

    def indices(self, span: Span, extra: int, size: int) -> np.ndarray:
        """Source indices a tile reads along one axis; clamping replicates the border pixel."""
        idx = np.arange(span.start - self.context, span.start + span.length + self.context + extra)
        return np.clip(idx, 0, size - 1)


def make_plan(height: int, width: int, geometry: Geometry, tile: int | None) -> TilePlan:
    """Plan tiles of at most `tile` input pixels per side (default DEFAULT_TILE, at least MIN_TILE)."""
    t = max(MIN_TILE, int(tile or DEFAULT_TILE))
    m, ctx = max(1, geometry.size_multiple), geometry.context
    rows, cols = axis_spans(height, t, m), axis_spans(width, t, m)
    return TilePlan(rows, cols, ctx, (-(rows[0].length + 2 * ctx)) % m, (-(cols[0].length + 2 * ctx)) % m)


TTA_TRANSFORMS = [(flip_h, flip_w, tr) for tr in (False, True) for flip_h in (False, True) for flip_w in (False, True)]


def _apply(x: torch.Tensor, flip_h: bool, flip_w: bool, transpose: bool) -> torch.Tensor:
    if flip_h:
        x = x.flip(-2)
    if flip_w:
        x = x.flip(-1)
    return x.transpose(-2, -1) if transpose else x


def _invert(x: torch.Tensor, flip_h: bool, flip_w: bool, transpose: bool) -> torch.Tensor:
    if transpose:
        x = x.transpose(-2, -1)
    if flip_w:
        x = x.flip(-1)
    return x.flip(-2) if flip_h else x


def _run(runner: Runner, batch: torch.Tensor, tta: bool) -> torch.Tensor:
    if not tta:
        return runner(batch)
    acc: torch.Tensor | None = None
    for t in TTA_TRANSFORMS:  # flips commute with tiling: per-tile TTA equals whole-image TTA
        y = _invert(runner(_apply(batch, *t).contiguous()), *t)
        acc = y if acc is None else acc + y  # out of place: runners may return inference tensors
    assert acc is not None
    return acc / len(TTA_TRANSFORMS)


Box = tuple[int, int, int, int]  # output (top, bottom, left, right)


def iter_tiles(
    runner: Runner, read: TileReader, size: tuple[int, int], geometry: Geometry, *,
    tile: int | None = None, batch: int = 1, tta: bool = False, on_tile: Callable[[int], None] | None = None,
) -> Iterator[tuple[Box, torch.Tensor]]:
    """Yield (output box, CHW float result) for each tile; only `batch` tiles are in memory at once."""
    h, w = size
    plan = make_plan(h, w, geometry, tile)
    s, ctx, off = geometry.scale, geometry.context, geometry.offset
    crop = (ctx - off) * s  # output pixels per side that came from context, not from the tile itself
    todo = plan.tiles()
    prepare = image_statistics(runner)  # a runner with image-wide statistics (SE blocks) sees every tile first
    handle = prepare(lambda: _image_tiles(read, plan, h, w), tta=tta) if prepare is not None else None
    try:
        for i in range(0, len(todo), max(1, batch)):
            chunk = todo[i:i + max(1, batch)]
            inputs = torch.stack([
                read(plan.indices(r, plan.extra_h, h), plan.indices(c, plan.extra_w, w)) for r, c in chunk
            ])
            result = _run(runner, inputs, tta)
            for (r, c), y in zip(chunk, result, strict=True):  # a runner must answer every tile
                dy, dx = (r.own_from - r.start) * s, (c.own_from - c.start) * s
                part = y[:, crop + dy:crop + (r.own_to - r.start) * s, crop + dx:crop + (c.own_to - c.start) * s]
                yield (r.own_from * s, r.own_to * s, c.own_from * s, c.own_to * s), part
            if on_tile:
                on_tile(len(chunk) * (len(TTA_TRANSFORMS) if tta else 1))
    finally:
        if handle is not None:
            handle.close()


def _image_tiles(read: TileReader, plan: TilePlan, h: int, w: int) -> Iterator[tuple]:
    """(CHW tile, (row, col) of its first pixel, owned rows, owned cols) per tile; ownership is unbounded at borders."""
    for r, c in plan.tiles():
        tile = read(plan.indices(r, plan.extra_h, h), plan.indices(c, plan.extra_w, w))
        rows = (r.own_from if r.own_from > 0 else -math.inf, r.own_to if r.own_to < h else math.inf)
        cols = (c.own_from if c.own_from > 0 else -math.inf, c.own_to if c.own_to < w else math.inf)
        yield tile, (r.start - plan.context, c.start - plan.context), rows, cols


def tensor_reader(image: torch.Tensor) -> TileReader:
    """Tiles cut from a CHW float tensor."""
    def read(rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
        return image[:, torch.from_numpy(rows)][:, :, torch.from_numpy(cols)]
    return read


def run_tiled(
    runner: Runner, image: torch.Tensor, geometry: Geometry, *, tile: int | None = None, batch: int = 1,
    tta: bool = False, on_tile: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Upscale a CHW float tensor tile by tile into one float tensor."""
    _, h, w = image.shape
    s = geometry.scale
    out = torch.empty((geometry.out_channels, h * s, w * s), dtype=torch.float32)
    for (t, b, l, r), part in iter_tiles(runner, tensor_reader(image), (h, w), geometry,
                                         tile=tile, batch=batch, tta=tta, on_tile=on_tile):
        out[:, t:b, l:r] = part
    return out


def reference(runner: Runner, image: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """Whole-image inference of (N)CHW with no tiling: pad by `context` (and to `size_multiple`), run once, crop.

    What tiling must equal, and what training's validation measures (train/metrics.upscale_module).
    """
    s, ctx, off = geometry.scale, geometry.context, geometry.offset
    h, w = image.shape[-2:]
    m = max(1, geometry.size_multiple)
    x = pad_edges(image if image.dim() == 4 else image[None], ctx)
    x = F.pad(x, (0, (-x.shape[-1]) % m, 0, (-x.shape[-2]) % m), mode="replicate")
    crop = (ctx - off) * s
    y = runner(x)[..., crop:crop + h * s, crop:crop + w * s]
    return y if image.dim() == 4 else y[0]


def tile_count(height: int, width: int, tile: int | None) -> int:
    """How many tiles (per TTA transform and per channel group) an image is cut into."""
    t = max(MIN_TILE, int(tile or DEFAULT_TILE))
    return math.ceil(height / t) * math.ceil(width / t)


__all__: Sequence[str] = (
    "DEFAULT_TILE", "MIN_TILE", "TTA_TRANSFORMS", "Span", "TilePlan", "axis_spans", "iter_tiles", "make_plan", "pad_edges",
    "reference", "run_tiled", "tensor_reader", "tile_count",
)
