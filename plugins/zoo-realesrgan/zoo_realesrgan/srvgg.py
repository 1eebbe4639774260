"""SRVGGNetCompact (Real-ESRGAN's realesr-animevideov3) exactly as xinntao/Real-ESRGAN defines it.

The ncnn files of the 2x and 3x models are the 4x network followed by a bicubic downscale (ncnn Interp
resize_type 3, factor 0.5 / 0.75); `scale` below reproduces that step, so one set of weights serves all three.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo import WeightsError, ZooError


class SRVGGNetCompact(nn.Module):
    """Same-padded 3x3 convs with per-channel PReLU, PixelShuffle, plus the nearest-upscaled input."""

    def __init__(self, *, num_feat: int = 64, num_conv: int = 16, upscale: int = 4, scale: int = 4,
                 act: str = "prelu") -> None:
        super().__init__()
        self.upscale, self.scale = upscale, scale
        body: list[nn.Module] = [nn.Conv2d(3, num_feat, 3, 1, 1), activation(act, num_feat)]
        for _ in range(num_conv):
            body += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), activation(act, num_feat)]
        body.append(nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1))
        self.body = nn.Sequential(*body)
        self.upsampler = nn.PixelShuffle(upscale)
        self.down = BicubicDown(scale=scale, upscale=upscale) if scale != upscale else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """NCHW in [0,1] → NCHW at `scale`× (bicubic from the network's `upscale`× when they differ)."""
        return self.down(self.upsampler(self.body(x)) + F.interpolate(x, scale_factor=self.upscale, mode="nearest"))

    def check_ncnn_graph(self, layers: list[dict], where: str) -> None:
        """The file's Interp layers must be the nearest skip and, for scale < upscale, the bicubic downscale."""
        interps = [(int(lay["params"].get(0, 0)), float(lay["params"].get(1, 1))) for lay in layers if lay["type"] == "Interp"]
        want = [(1, float(self.upscale))] + ([(3, self.scale / self.upscale)] if self.scale != self.upscale else [])
        if sorted(interps) != sorted(want):
            got = ", ".join(f"type {t} x{f:g}" for t, f in interps) or "none"
            raise WeightsError(f"'{where}' resizes with {got}; srvgg at scale {self.scale} expects "
                               + ", ".join(f"type {t} x{f:g}" for t, f in want) + ". Set the card's scale to match the file.")


def _cubic(d: float, a: float = -0.75) -> float:
    """Keys' cubic kernel with ncnn's and PyTorch's a = -0.75."""
    d = abs(d)
    return ((a + 2) * d - (a + 3)) * d * d + 1 if d <= 1 else ((d - 5) * d + 8) * d * a - 4 * a if d < 2 else 0.0


def bicubic_down(x: torch.Tensor, scale: int, upscale: int) -> torch.Tensor:
    """Resize the last axis by scale/upscale with half-pixel bicubic (ncnn Interp type 3, edge-clamped).

    Polyphase: output scale·q + r reads input upscale·q + fixed offsets with fixed weights, so every tile
    and the whole image sample identical positions (F.interpolate's float positions drift with the offset).
    """
    g = math.gcd(scale, upscale)
    p, u = scale // g, upscale // g
    centres = [(r + 0.5) * u / p - 0.5 for r in range(p)]
    lo = min(math.floor(c) for c in centres) - 1
    k = max(math.floor(c) for c in centres) + 2 - lo + 1
    weight = torch.zeros(p, 1, 1, k, dtype=torch.float64)
    for r, c in enumerate(centres):
        f = math.floor(c)
        for i in range(-1, 3):
            weight[r, 0, 0, f + i - lo] = _cubic(c - (f + i))
    n, ch, h, w = x.shape
    right = max(0, k + lo - u)
    y = F.pad(x.reshape(n * ch, 1, h, w), (-lo, right, 0, 0), mode="replicate")
    y = F.conv2d(y, weight.to(x.dtype), stride=(1, u))  # (n·ch, p, h, w/u)
    return y.permute(0, 2, 3, 1).reshape(n, ch, h, w // u * p)


class BicubicDown(nn.Module):
    """The ncnn files' final Interp (bicubic, factor scale/upscale) on both axes, computed polyphase."""

    def __init__(self, *, scale: int, upscale: int) -> None:
        super().__init__()
        self.scale, self.upscale = scale, upscale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Width, then height."""
        y = bicubic_down(x, self.scale, self.upscale).transpose(-1, -2)
        return bicubic_down(y, self.scale, self.upscale).transpose(-1, -2)

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        """For zoo's ncnn exporter: the same Interp as the original file (ncnn's float positions, within 1e-4)."""
        factor = self.scale / self.upscale
        return "Interp", {0: 3, 1: factor, 2: factor}


ACTIVATIONS = ("prelu", "relu", "leakyrelu")


def activation(act: str, channels: int) -> nn.Module:
    """Real-ESRGAN's choices: per-channel PReLU, ReLU, or LeakyReLU with slope 0.1."""
    if act == "prelu":
        return nn.PReLU(channels)
    if act == "relu":
        return nn.ReLU(inplace=True)
    if act == "leakyrelu":
        return nn.LeakyReLU(0.1, inplace=True)
    raise ZooError(f"srvgg act must be one of {', '.join(ACTIVATIONS)}, got {act!r}. Fix the card's hyperparameters.")


def build(*, num_feat: int = 64, num_conv: int = 16, upscale: int = 4, scale: int = 4) -> SRVGGNetCompact:
    """SRVGGNetCompact; `scale` below `upscale` adds the bicubic downscale of the 2x/3x ncnn files."""
    if not 1 <= scale <= upscale:
        raise ZooError(f"srvgg scale must be 1..{upscale} (the network's upscale), got {scale}.")
    return SRVGGNetCompact(num_feat=num_feat, num_conv=num_conv, upscale=upscale, scale=scale)


def build_compact(*, num_feat: int = 64, num_conv: int = 16, scale: int = 4, act: str = "prelu") -> SRVGGNetCompact:
    """SRVGGNetCompact as community files vary it: any width, depth and (PixelShuffle) scale; PReLU, ReLU or LeakyReLU."""
    return SRVGGNetCompact(num_feat=num_feat, num_conv=num_conv, upscale=scale, scale=scale, act=act)

