"""Exact tiling for CUNet: each SE block's mean taken over the whole image, gathered tile by tile.

Before an image's tiles run, zoo's tiler hands `prepare_image` every tile with the image pixels it owns.
SE block k's mean is summed over the feature positions whose centre lies in each tile's owned pixels
(every position of the whole image's feature map is counted once, since tiles sit on the network's
stride grid), with blocks 1..k-1 already fixed; then all tiles run with the four gates fixed. The result
equals running the whole padded image at once (what ncnn does given the whole image), up to float
summation order.
"""
from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch import nn

from zoo import ZooError

# (stride, centre of position 0) of each SE block's feature map, in input pixels from the tile's first pixel.
ANCHORS = {2: ((2, 6.5), (1, 11.0), (2, 15.5), (1, 17.0)), 1: ((2, 6.5), (2, 14.5), (4, 23.5), (2, 26.5))}
TileSource = Callable[[], Iterator[tuple]]


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


def owned(n: int, origin: int, stride: int, centre: float, span: tuple[float, float]) -> torch.Tensor:
    """Which of n feature positions have their centre pixel inside [span) of the image."""
    pixel = torch.floor(origin + stride * torch.arange(n, dtype=torch.float64) + centre)
    return (pixel >= span[0]) & (pixel < span[1])


class Gates:
    """The fixed gates of one image (in this thread); close() returns the blocks to per-input means."""

    def __init__(self, blocks: list[nn.Module]):
        self.blocks = blocks

    def close(self) -> None:
        """Forget the gates (the next image gathers its own)."""
        for b in self.blocks:
            b.gate = None


def prepare_image(model: nn.Module, tiles: TileSource, *, tta: bool) -> Gates:
    """Gather every SE block's image-wide mean from the tiles, in order, and fix the gates."""
    if tta:
        raise ZooError("cunet models do not support --tta yet: their SE blocks would need one image-wide pass "
                       "per flip. Run without --tta.")
    blocks = [m for m in model.modules() if hasattr(m, "gate")]
    gates = Gates(blocks)
    try:
        for b in blocks:
            b.gate = None
        first = tiles()
        if next(first, None) is None or next(first, None) is None:
            return gates  # one tile is the whole padded image: its own means are the image's
        param = next(model.parameters())
        for block, (stride, centre) in zip(blocks, ANCHORS[model.scale], strict=True):
            total, count = torch.zeros((), dtype=torch.float64), 0
            for tile, (y0, x0), rows, cols in tiles():
                with torch.inference_mode():
                    f = features_at(model, block, tile[None].to(param.device, param.dtype))[0].double()
                rm, cm = owned(f.shape[-2], y0, stride, centre, rows), owned(f.shape[-1], x0, stride, centre, cols)
                total = total + f[:, rm][:, :, cm].sum((1, 2)).cpu()
                count += int(rm.sum()) * int(cm.sum())
            with torch.inference_mode():
                block.gate = block.excite((total / max(1, count)).to(param.device, param.dtype)[None, :, None, None])
    except BaseException:
        gates.close()
        raise
    return gates


__all__ = ["ANCHORS", "Gates", "features_at", "owned", "prepare_image"]
