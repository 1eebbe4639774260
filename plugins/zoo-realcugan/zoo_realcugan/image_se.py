"""Exact tiling for Real-CUGAN: each SE block's mean over the whole image, gathered tile by tile.

zoo_cunet.image_se's scheme (see there) with anchors that may be fractions: 3x's second U-Net runs on a
3x feature map, so its SE positions are 2/3 or 4/3 input pixels apart. Positions are assigned to the
pixel their centre lies in with exact rational arithmetic, so every tile agrees on each position's owner.
"""
from __future__ import annotations

from fractions import Fraction
from math import lcm

import torch
from torch import nn

from zoo import ZooError
from zoo_cunet.image_se import Gates, TileSource, features_at


def owned(n: int, origin: int, stride: Fraction, centre: Fraction, span: tuple[int, int]) -> torch.Tensor:
    """Which of n feature positions have their centre pixel inside [span) of the image (exact arithmetic)."""
    d = lcm(stride.denominator, centre.denominator)
    num = origin * d + int(stride * d) * torch.arange(n, dtype=torch.int64) + int(centre * d)
    pixel = torch.div(num, d, rounding_mode="floor")
    return (pixel >= span[0]) & (pixel < span[1])


def prepare_image(model: nn.Module, tiles: TileSource, *, tta: bool) -> Gates:
    """Gather every SE block's image-wide mean from the tiles, block by block, and fix the gates."""
    if tta:
        raise ZooError("realcugan models do not support --tta yet: their SE blocks would need one image-wide pass "
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
        for block, (stride, centre) in zip(blocks, model.se_anchors, strict=True):
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


__all__ = ["Gates", "owned", "prepare_image"]
