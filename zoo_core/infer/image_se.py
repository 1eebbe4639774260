"""Exact tiling for networks whose squeeze-excitation (SE) blocks average over the whole image.

Before an image's tiles run, zoo's tiler hands a model's `prepare_image` every tile with the image pixels
it owns. SE block k's mean is summed over the feature positions whose centre lies in each tile's owned
pixels (every position of the whole image's feature map is counted once, since tiles sit on the network's
stride grid), with blocks 1..k-1 already fixed; then all tiles run with every gate fixed. The result equals
running the whole padded image at once (what ncnn does given the whole image), up to float summation order.

A model using this lists its SE blocks' anchors: per block in forward order, the (stride, centre of
position 0) of its feature map in input pixels from the tile's first pixel. Strides may be fractions (a
block after a 3x deconvolution sees positions 2/3 px apart): ownership is decided in exact rational
arithmetic, so every tile agrees on each position's owner. An SE block here is a module with a settable
`gate` (None: its own input's mean), a settable `stop_here` (raise Reached with its input) and
`excite(mean) -> gate`; both settings must be per thread, as one model may serve several threads.

Another engine running the same network (the ncnn backend) gathers through the same code: it passes
`features(index, tile, block) -> CHW feature map` (block's input on that tile, the earlier blocks' gates as
set), and reads the gates back from the blocks when its tiles run.
"""
from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .. import capabilities
from ..errors import ZooError

TileSource = Callable[[], Iterator[tuple]]
Features = Callable[[int, torch.Tensor, nn.Module], torch.Tensor]  # (tile index, CHW tile, SE block) -> CHW input
Anchor = tuple[Fraction | int | float, Fraction | int | float]  # (stride, centre); floats must be exact binary


class Reached(Exception):
    """Raised by the SE block a gathering pass stops at, carrying its input."""

    def __init__(self, features: torch.Tensor):
        super().__init__("SE block reached")
        self.features = features


def features_at(model: nn.Module, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input of `block` when `model` runs on `x` (the rest of the network is not run; this thread only)."""
    block.stop_here = True
    try:
        model(x)
    except Reached as reached:
        return reached.features
    finally:
        block.stop_here = False
    raise RuntimeError("the SE block was not reached")  # pragma: no cover - a wiring bug, not a user error


def owned(n: int, origin: int, stride: Fraction, centre: Fraction, span: tuple[float, float]) -> torch.Tensor:
    """Which of n feature positions have their centre pixel inside [span) of the image (exact arithmetic)."""
    d = lcm(stride.denominator, centre.denominator)
    num = origin * d + int(stride * d) * torch.arange(n, dtype=torch.int64) + int(centre * d)
    pixel = torch.div(num, d, rounding_mode="floor")
    return (pixel >= span[0]) & (pixel < span[1])


class Gates:
    """The fixed gates of one image (in this thread); close() returns the blocks to per-input means."""

    def __init__(self, blocks: list[nn.Module]):
        self.blocks = blocks

    def close(self) -> None:
        """Forget the gates (the next image gathers its own)."""
        for b in self.blocks:
            b.gate = None


def torch_features(model: nn.Module) -> Features:
    """`features` for the module itself: its forward pass, stopped at the block."""
    param = next(model.parameters())

    def features(index: int, tile: torch.Tensor, block: nn.Module) -> torch.Tensor:
        with torch.inference_mode():
            return features_at(model, block, tile[None].to(param.device, param.dtype))[0]
    return features


def _span(mask: torch.Tensor) -> slice:
    """The owned positions as a slice (positions lie on a grid in order, so each tile owns a contiguous run)."""
    idx = torch.nonzero(mask).flatten()
    return slice(int(idx[0]), int(idx[-1]) + 1) if len(idx) else slice(0, 0)


def _sum64(part: torch.Tensor) -> torch.Tensor:
    """Per-channel float64 sums of a CHW map (numpy casts on the fly; torch would copy the map to float64 first)."""
    if part.device.type == "cpu" and part.dtype == torch.float32:
        return torch.from_numpy(part.numpy().sum((1, 2), dtype=np.float64))
    return part.double().sum((1, 2)).cpu()


def _image_mean(block: nn.Module, tiles: TileSource, features: Features, stride: Fraction,
                centre: Fraction) -> torch.Tensor:
    """Block's input averaged over the whole image: each tile adds the feature positions it owns (float64)."""
    total, count = torch.zeros((), dtype=torch.float64), 0
    for index, (tile, (y0, x0), rows, cols) in enumerate(tiles()):
        f = features(index, tile, block)
        rs = _span(owned(f.shape[-2], y0, stride, centre, rows))
        cs = _span(owned(f.shape[-1], x0, stride, centre, cols))
        total = total + _sum64(f[:, rs, cs])
        count += (rs.stop - rs.start) * (cs.stop - cs.start)
    return total / max(1, count)


def is_se_block(m: nn.Module) -> bool:
    """Whether `m` declares itself an image-wide SE block (zoo_core.capabilities.SEBlock)."""
    return capabilities.is_se_block(m)


def se_blocks(model: nn.Module) -> list[nn.Module]:
    """The model's image-wide SE blocks, in definition order."""
    return [m for m in model.modules() if is_se_block(m)]


def prepare_image(model: nn.Module, tiles: TileSource, anchors: Sequence[Anchor], *, tta: bool,
                  family: str, features: Features | None = None) -> Gates:
    """Gather every SE block's image-wide mean from the tiles, block by block, and fix the gates.

    `features` computes a block's input on one tile (default: the module itself, in torch).
    """
    if tta:
        raise ZooError(f"{family} models do not support --tta yet: their SE blocks would need one image-wide pass "
                       "per flip. Run without --tta.")
    blocks = se_blocks(model)
    gates = Gates(blocks)
    features = features or torch_features(model)
    param = next(model.parameters())
    try:
        for b in blocks:
            b.gate = None
        first = tiles()
        if next(first, None) is None or next(first, None) is None:
            return gates  # one tile is the whole padded image: its own means are the image's
        for block, (stride, centre) in zip(blocks, anchors, strict=True):
            mean = _image_mean(block, tiles, features, Fraction(stride), Fraction(centre))
            with torch.inference_mode():
                block.gate = block.excite(mean.to(param.device, param.dtype)[None, :, None, None])
    except BaseException:
        gates.close()
        raise
    return gates


__all__ = ["Anchor", "Features", "Gates", "Reached", "TileSource", "features_at", "is_se_block", "owned",
           "prepare_image", "se_blocks", "torch_features"]
