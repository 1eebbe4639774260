"""Any scale factor from a fixed-scale model: repeated passes, then a high-quality downscale.

And which card runs each pass: `-n` picks the noise level among cards of the same architecture,
style and scale (read from the cards' fields, never from their names).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..cards import Card
from ..errors import ZooError
from .modes import Picture

MAX_SCALE = 16.0


def passes_for(model_scale: int, target: float) -> int:
    """How many passes reach at least `target` (at least one: a noise model at scale 1 still runs)."""
    if not 1 <= target <= MAX_SCALE:
        raise ZooError(f"Scale {target:g} is out of range; use a factor from 1 to {MAX_SCALE:g}, e.g. 2, 4 or 1.5.")
    if model_scale <= 1:
        return 1
    return max(1, math.ceil(math.log(target, model_scale) - 1e-9))


@dataclass(frozen=True)
class PassPlan:
    """Cards for the first pass (denoises) and the later ones (enlarge only), and the pass count."""

    first: Card
    rest: Card
    passes: int


def _family(cards: Sequence[Card], base: Card, style: str) -> list[Card]:
    return [c for c in cards if c.architecture == base.architecture and c.scale == base.scale and c.style == style
            and (c.trained or c is base)]  # an untrained sibling cannot run a pass


def _others(card: Card) -> dict:
    """The variant fields other than noise_level (style, conservative…): which member of a family a card is."""
    return {k: v for k, v in card.variants.items() if k != "noise_level"}


def plan_cards(cards: Sequence[Card], base: Card, *, noise: int | None, style: str | None, scale: float) -> PassPlan:
    """Pick cards from card fields: `noise`/`style` select a sibling of `base` (same architecture and scale).

    A sibling whose own scale is exactly `scale` (realesrgan-animevideov3-2x with -s 4) is used instead of
    `base`: one native pass rather than repeated passes or a downscale.
    """
    native = [c for c in cards if c.architecture == base.architecture and c.scale == scale != base.scale
              and c.style == (style or base.style)]
    base = next((c for c in native if c.noise_level == base.noise_level), base)  # same denoising only
    style = style or base.style
    fam = _family(cards, base, style)
    if noise is None and style == base.style:
        first = base
    else:
        want = base.noise_level if noise is None else noise
        first = next((c for c in fam if c.noise_level == want), None)  # type: ignore[assignment]
        if first is None:
            levels = sorted({c.noise_level for c in fam})
            have = ", ".join(map(str, levels)) if levels else "none"
            raise ZooError(
                f"No '{base.architecture}' model for style '{style}' with noise level {want} "
                f"(installed noise levels for that style: {have}). Choose -n from those, or run 'zoo list'."
            )
    # later passes only enlarge, as waifu2x does, with the member the user chose (same variants but noise_level:
    # realcugan-se-4x, never its -conservative sibling); a family with no plain sibling repeats `first`
    plain = next((c for c in fam if c.noise_level == -1 and _others(c) == _others(first)), first)
    return PassPlan(first, plain, passes_for(base.scale, scale))


def resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Antialiased bicubic resize of HxWxC integers to (height, width); colour premultiplied by alpha."""
    h, w, c = pixels.shape
    if (h, w) == size:
        return pixels
    peak = float(np.iinfo(pixels.dtype).max)
    x = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None].div_(peak)
    alpha = c in (2, 4)
    if alpha:  # premultiply, so transparent pixels' hidden colour does not bleed into visible ones
        x[:, :-1] *= x[:, -1:]
    y = F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp_(0, 1)
    if alpha:
        a = y[:, -1:]
        y[:, :-1] = torch.where(a > 0, y[:, :-1] / a.clamp_min(1e-6), y[:, :-1]).clamp_(0, 1)
    q = torch.floor(y[0].mul_(peak).add_(0.5)).permute(1, 2, 0).numpy()
    return q.astype(pixels.dtype)


def target_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """(height, width) of the output for a scale factor, at least 1×1."""
    return max(1, math.floor(height * scale + 0.5)), max(1, math.floor(width * scale + 0.5))


Step = Callable[[Picture, int], Picture]  # (picture, pass index) → the picture after that pass


def scale_picture(pic: Picture, scale: float, model_scale: int, step: Step) -> Picture:
    """Run `passes_for` passes of `step`, then downscale to exactly `scale` × the input size."""
    w, h = pic.size
    out = pic
    for i in range(passes_for(model_scale, scale)):
        out = step(out, i)
    size = target_size(w, h, scale)
    if out.pixels.shape[:2] != size:
        out = Picture(pixels=resize(out.pixels, size), icc=out.icc, gamma=out.gamma, exif=out.exif,
                      extra=out.extra)
    return out
