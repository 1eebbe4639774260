"""Held-out validation: PSNR-Y of the model and of bicubic on fixed LR/HR pairs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image
from torch import nn

from ..architecture import Geometry
from ..interfaces import Degradation
from .dataset import load_images, to_tensor
from .metrics import psnr, quantize, rgb_to_y, shave, upscale_module
from .synthetic import synthetic_images


@dataclass(frozen=True)
class ValPair:
    """One held-out image: its name, LR input, HR target and the bicubic upscale of the LR."""

    name: str
    lr: torch.Tensor
    hr: torch.Tensor
    bicubic: torch.Tensor


def centre_crop(img: Image.Image, side: int, multiple: int) -> Image.Image:
    """At most side×side from the centre, both sides a multiple of `multiple`."""
    w, h = min(img.width, side), min(img.height, side)
    w, h = w - w % multiple, h - h % multiple
    x, y = (img.width - w) // 2, (img.height - h) // 2
    return img.crop((x, y, x + w, y + h))


def make_pairs(images: Sequence[tuple[str, Image.Image]], *, degradation: Degradation, scale: int,
               max_side: int) -> list[ValPair]:
    """LR made once with a fixed seed per image, so every validation sees the same inputs."""
    pairs = []
    for i, (name, img) in enumerate(images):
        lr, hr = degradation(centre_crop(img, max_side, scale), scale=scale, seed=10_000 + i)
        bic = lr.resize(hr.size, Image.Resampling.BICUBIC)
        pairs.append(ValPair(name, to_tensor(lr), to_tensor(hr), to_tensor(bic)))
    return pairs


def validation_images(files: Sequence[str], synthetic_count: int, synthetic_size: int,
                      synthetic_seed: int) -> list[tuple[str, Image.Image]]:
    """Named held-out images: files first, then synthetic ones."""
    named = [(Path(f).name, im) for f, im in zip(files, load_images([Path(f) for f in files]))]
    syn = synthetic_images(synthetic_count, size=synthetic_size, seed=synthetic_seed)
    return named + [(f"synthetic-{synthetic_seed + i}", im) for i, im in enumerate(syn)]


@torch.no_grad()
def validate(model: nn.Module, geometry: Geometry, pairs: Sequence[ValPair]) -> dict[str, float]:
    """Mean PSNR-Y (8-bit output, border of `scale` excluded) of model and bicubic, and the gain."""
    was_training = model.training
    model.eval()
    ours, bic, per = [], [], {}
    b = geometry.scale
    for p in pairs:
        out = quantize(upscale_module(model, geometry, p.lr[None].float())[0].float())
        y_hr = shave(rgb_to_y(p.hr), b)
        ours.append(psnr(shave(rgb_to_y(out), b), y_hr))
        bic.append(psnr(shave(rgb_to_y(p.bicubic), b), y_hr))
        per[p.name] = ours[-1] - bic[-1]
    model.train(was_training)
    n = max(1, len(pairs))
    result = {"psnr_y": sum(ours) / n, "bicubic_psnr_y": sum(bic) / n}
    result["gain_db"] = result["psnr_y"] - result["bicubic_psnr_y"]
    result.update({f"gain_db/{k}": v for k, v in per.items() if not k.startswith("synthetic-")})
    return result
