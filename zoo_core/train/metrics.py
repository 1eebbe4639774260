"""Image-quality metrics (PSNR, SSIM on Y or RGB) and whole-image inference of a bare module."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..architecture import Geometry

# ITU-R BT.601 luma on a 16..235 range, the usual convention for PSNR-Y in SR papers.
Y_WEIGHTS = (65.481 / 255, 128.553 / 255, 24.966 / 255)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """(…, 3, H, W) RGB in [0,1] → (…, 1, H, W) Y in [16/255, 235/255]."""
    w = torch.tensor(Y_WEIGHTS, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(-3, keepdim=True) + 16 / 255


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    """Drop `border` pixels per side (the last two dims)."""
    return x[..., border:x.shape[-2] - border, border:x.shape[-1] - border] if border else x


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8 bits as a saved image would be (waifu2x: floor(clamp(x)·255 + 0.5))."""
    return torch.floor(x.clamp(0, 1) * 255 + 0.5) / 255


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for signals in [0, 1] (∞ capped at 100)."""
    mse = float(F.mse_loss(a.double(), b.double()))
    return 100.0 if mse <= 1e-10 else 10 * math.log10(1.0 / mse)


def _gauss(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-t * t / (2 * sigma * sigma))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM (Wang et al. 2004, 11×11 Gaussian σ=1.5), averaged over channels; CHW in [0, 1]."""
    x, y = a.double().unsqueeze(0), b.double().unsqueeze(0)
    c = x.shape[1]
    w = _gauss().expand(c, 1, 11, 11)
    mu_x, mu_y = F.conv2d(x, w, groups=c), F.conv2d(y, w, groups=c)
    sxx = F.conv2d(x * x, w, groups=c) - mu_x**2
    syy = F.conv2d(y * y, w, groups=c) - mu_y**2
    sxy = F.conv2d(x * y, w, groups=c) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    m = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(m.mean())


@torch.no_grad()
def upscale_module(module: nn.Module, geometry: Geometry, lr: torch.Tensor) -> torch.Tensor:
    """Whole-image inference as the Upscaler's reference does it (infer/tiler.reference, size_multiple too).

    lr: (N, 3, h, w) → (N, 3, h·s, w·s).
    """
    from ..infer.tiler import reference

    return reference(module, lr, geometry)
