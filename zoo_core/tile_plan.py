"""Per-image tile layout: the one planner that turns a card's default (tile, batch) into this image's.

zoo.load fixes a memory-safe default for any image (cost.capped_tile: 4096² in 3 GB); an image smaller than that
leaves room, and `TilePlanner.layout` spends it where the tiles would compute less: one whole-image tile, larger
tiles one at a time where the runner gathers image-wide SE statistics, or larger concurrent tiles (fewer rounds
of `batch` tiles) where it does not. Torch-free: Upscaler.layout and the progress totals ask it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .cost import OUTPUT_RESERVE, TILE_BUDGET, fits, widest_elements

# Tiles computing this many times the whole padded image's pixels (their context) lose to one whole-image tile:
# RRDBNet 128² in 112-px tiles (2.5×) took 2.1× one tile's time, UpConv_7 320² in 256-px tiles (1.09×)
# 0.91× (benchmarks/README.md, "One tile where the image fits").
WHOLE_IMAGE_OVERHEAD = 1.5
# A gathering run kept between SE passes holds this share of its tile's working set (pending U-Net skips, the
# block's features): 0.11-0.19 x the declared factor fitted to CUNet's and Real-CUGAN's runs (README, Goal 5).
KEPT_SHARE = 0.2
# Larger tiles are taken only where they compute this much less (context included): CUNet at 2 threads took
# 0.67x / 0.69x the CPU time at 512² / 600² (12 / 10 % fewer pixels), 0.99x at 1024² (6 %; README).
LARGER_TILE_GAIN = 0.08


def spans(n: int, tile: int) -> tuple[int, int]:
    """(tiles, their length) along an axis of n pixels in tiles of at most `tile`, evened out as the tiler does."""
    count = -(-n // tile)
    return count, -(-n // count)


def tiling_overhead(h: int, w: int, tile: int, context: int) -> float:
    """Pixels that tiles of side `tile` compute, context included, over those of the whole padded h×w image."""
    def per_side(n: int) -> int:
        count, length = spans(n, tile)
        return count * (length + 2 * context)
    return per_side(h) * per_side(w) / ((h + 2 * context) * (w + 2 * context))


def round_cost(h: int, w: int, tile: int, context: int, batch: int) -> float:
    """Tile pixels (context included) times the rounds of `batch` concurrent tiles: a short last round costs a
    whole one (its lone tile gets the idle workers' threads, which scale poorly: README, Goal 1)."""
    (rows, th), (cols, tw) = spans(h, tile), spans(w, tile)
    return math.ceil(rows * cols / batch) * (th + 2 * context) * (tw + 2 * context)


def image_bytes(h: int, w: int, scale: int) -> int:
    """The uint8 RGB input and output of an h×w image."""
    return 3 * h * w * (1 + scale * scale)


def gathering_bytes(widest: list[list[float]], h: int, w: int, tile: int, *, scale: int, context: int,
                    factor: float, kept_pixels: int) -> float:
    """Peak bytes above the baseline of an h×w image in tiles of `tile` run one at a time with SE gathering: one
    tile's working set (on every thread), the runs kept beside it (first tiles within `kept_pixels` of input), the
    uint8 input and output."""
    (rows, th), (cols, tw) = spans(h, tile), spans(w, tile)
    # the tile being computed is the last one kept, so at most tiles - 1 wait beside it
    kept = min(rows * cols - 1, kept_pixels // ((th + 2 * context) * (tw + 2 * context)))
    one = 4 * widest_elements(widest, max(th, tw))
    return factor * (1 + kept * KEPT_SHARE) * one + image_bytes(h, w, scale)


@dataclass(frozen=True)
class TilePlanner:
    """A card's per-image layout on the CPU: what zoo.load measured, asked by Upscaler.layout for each image."""

    widest: list[list[float]]
    preferred: int  # the backend's preferred tile: the largest measured
    scale: int
    context: int
    factor: float
    kept_pixels: int = 0  # input pixels of the runs a gathering runner keeps between passes
    whole_image: int = 0  # an image whose sides are at most this may run as one tile (0: never)
    resize: bool = True  # False where the batch was given: only the whole-image tile may change it

    def layout(self, h: int, w: int, tile: int, batch: int, *, gathers: bool) -> tuple[int, int]:
        """(tile, batch) for an h×w image larger than the default `tile`."""
        if max(h, w) <= self.whole_image and (
                gathers or tiling_overhead(h, w, tile, self.context) >= WHOLE_IMAGE_OVERHEAD):
            return max(h, w), batch
        if not self.resize:
            return tile, batch
        if gathers:
            larger = self.one_at_a_time(h, w, tile)
            return (larger, 1) if larger else (tile, batch)
        return self.concurrent(h, w, tile, batch), batch

    def _gains(self, now: float, then: float) -> bool:
        """Whether `then` computes LARGER_TILE_GAIN less than `now`."""
        return then <= (1 - LARGER_TILE_GAIN) * now

    def one_at_a_time(self, h: int, w: int, default: int) -> int:
        """The largest tile <= `preferred` (8-px steps) whose gathering_bytes fit 4096²'s frame (TILE_BUDGET +
        OUTPUT_RESERVE), where it computes LARGER_TILE_GAIN fewer pixels than `default`; else 0."""
        now = tiling_overhead(h, w, default, self.context)
        for tile in range(self.preferred, default, -8):
            if not self._gains(now, tiling_overhead(h, w, tile, self.context)):
                return 0  # smaller tiles only compute more
            if gathering_bytes(self.widest, h, w, tile, scale=self.scale, context=self.context, factor=self.factor,
                               kept_pixels=self.kept_pixels) <= TILE_BUDGET + OUTPUT_RESERVE:
                return tile
        return 0

    def concurrent(self, h: int, w: int, default: int, batch: int) -> int:
        """The tile (default < tile <= preferred) with the fewest round_cost pixels among those whose `batch`
        concurrent working sets fit this image's share of 4096²'s frame (its own input and output leave the rest
        of OUTPUT_RESERVE), where that saves LARGER_TILE_GAIN; else `default`.

        ESPCN_7 at 512²: its 4096²-safe tile 200 makes 3 × 3 tiles of 171 (5 rounds of 2); 256 makes 2 × 2 (2 rounds).
        """
        room = OUTPUT_RESERVE - image_bytes(h, w, self.scale)
        base = round_cost(h, w, default, self.context, batch)
        best, least = default, base
        side = max(h, w)
        for count in range(spans(side, default)[0] - 1, 0, -1):  # fewer tiles along the longer side
            tile = -(-side // count)  # evened out as the tiler does
            if tile > self.preferred or not fits(self.widest, tile, batch, self.factor, extra=room):
                break  # fewer tiles are only larger
            if (then := round_cost(h, w, tile, self.context, batch)) < least:
                best, least = tile, then
        return best if self._gains(base, least) else default
