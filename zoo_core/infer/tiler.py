"""Exact tiled inference: each tile carries `context` pixels of real neighbours, so no blending is needed."""
from __future__ import annotations

from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from ..architecture import Geometry

Runner = Callable[[torch.Tensor], torch.Tensor]
DEFAULT_TILE = 256


def pad_edges(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Edge-replicate (N)CHW by `pad` pixels per side, as the original waifu2x does at image borders."""
    if pad == 0:
        return x
    squeeze = x.dim() == 3
    y = F.pad(x[None] if squeeze else x, (pad, pad, pad, pad), mode="replicate")
    return y[0] if squeeze else y


def tile_boxes(height: int, width: int, tile: int) -> Iterator[tuple[int, int, int, int]]:
    """(top, left, h, w) of a grid of tiles covering the image; the last row/column may be smaller."""
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            yield top, left, min(tile, height - top), min(tile, width - left)


def run_tiled(
    runner: Runner, image: torch.Tensor, geometry: Geometry, *, tile: int | None = None, batch: int = 1,
    on_tile: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Upscale a CHW float tensor; the result is identical whatever the tile size."""
    c, h, w = image.shape
    s, ctx, off = geometry.scale, geometry.context, geometry.offset
    tile = max(1, tile or DEFAULT_TILE)
    padded = pad_edges(image, ctx)
    crop = (ctx - off) * s  # output pixels per side that came from the replicated margin
    out = torch.empty((geometry.out_channels, h * s, w * s), dtype=torch.float32)
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for top, left, th, tw in tile_boxes(h, w, tile):
        groups.setdefault((th, tw), []).append((top, left))
    for (th, tw), origins in groups.items():  # only same-shaped tiles can share a batch
        for i in range(0, len(origins), max(1, batch)):
            chunk = origins[i:i + max(1, batch)]
            inputs = torch.stack([padded[:, t:t + th + 2 * ctx, l:l + tw + 2 * ctx] for t, l in chunk])
            result = runner(inputs)
            if crop:
                result = result[:, :, crop:crop + th * s, crop:crop + tw * s]
            for (t, l), r in zip(chunk, result):
                out[:, t * s:(t + th) * s, l * s:(l + tw) * s] = r
            if on_tile:
                on_tile(len(chunk))
    return out


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


def run_tta(runner: Runner, image: torch.Tensor, geometry: Geometry, **kw) -> torch.Tensor:
    """The 8-way flip/transpose ensemble: average of the de-transformed outputs."""
    acc = None
    for t in TTA_TRANSFORMS:
        y = _invert(run_tiled(runner, _apply(image, *t).contiguous(), geometry, **kw), *t)
        acc = y if acc is None else acc + y
    return acc / len(TTA_TRANSFORMS)
