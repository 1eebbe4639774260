"""Transparent pixels: extend colour into them so the model does not pull dark edges into the art."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def extend_colour(colour: np.ndarray, alpha: np.ndarray, iterations: int) -> np.ndarray:
    """Replace the colour of fully transparent pixels by the mean of their known neighbours, grown
    `iterations` pixels outwards (waifu2x's alpha border padding); farther ones get the mean colour.

    `colour` is HxWxC, `alpha` HxW, both of the same integer dtype; returns a new colour array.
    """
    known = torch.from_numpy(alpha > 0)[None, None].float()
    if bool(known.all()) or not bool(known.any()):
        return colour  # nothing hidden, or nothing visible to extend from
    peak = float(np.iinfo(colour.dtype).max)
    x = torch.from_numpy(colour.astype(np.float32)).permute(2, 0, 1)[None]
    x = x * known  # hidden colours must not leak into the averages
    for _ in range(max(1, iterations)):
        total = F.avg_pool2d(x, 3, stride=1, padding=1)
        weight = F.avg_pool2d(known, 3, stride=1, padding=1)
        fresh = (weight > 0) & (known == 0)
        if not bool(fresh.any()):
            break
        x = torch.where(fresh, total / weight.clamp_min(1e-12), x)
        known = torch.where(fresh, torch.ones_like(known), known)
    if not bool(known.all()):
        mean = (x * known).sum(dim=(2, 3), keepdim=True) / known.sum()
        x = torch.where(known > 0, x, mean.expand_as(x))
    out = x[0].permute(1, 2, 0).round_().clamp_(0, peak).numpy()
    return out.astype(colour.dtype)
