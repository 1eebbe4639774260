"""ESPCN_7 exactly as the seed: six SELU conv layers, optional selection units, PixelShuffle, clamp."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class SelectionUnit(nn.Sequential):
    """Choi & Kim 2017: a 1×1 conv + sigmoid gate."""

    def __init__(self, n_feats: int) -> None:
        super().__init__(nn.Conv2d(n_feats, n_feats, kernel_size=1, padding=0), nn.Sigmoid())


class Conv2dLayer(nn.Sequential):
    """Same-padded conv, activation, optional selection unit."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, activation: nn.Module,
                 selection_unit: bool = False) -> None:
        m = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=(kernel_size - 1) // 2), activation]
        if selection_unit:
            m.append(SelectionUnit(out_channels))
        super().__init__(*m)


class UpSampler(nn.Sequential):
    """Conv to out·r² channels, PixelShuffle(r), optional SELU + selection unit."""

    def __init__(self, upscaler: int, n_feats: int, out_channels: int, kernel_size: int,
                 selection_unit: bool = False) -> None:
        m: list[nn.Module] = [
            nn.Conv2d(n_feats, out_channels * upscaler**2, kernel_size, padding=(kernel_size - 1) // 2),
            nn.PixelShuffle(upscaler),
        ]
        if selection_unit:
            m += [nn.SELU(inplace=True), SelectionUnit(out_channels)]
        super().__init__(*m)


SELU_SCALE = 1.0507009873554805  # SELU(x) = SELU_SCALE * x for x >= 0
# Bilinear 2x weights over LR pixels (i-1, i, i+1) for the left/top (0) and right/bottom (1) output pixel.
BILINEAR_2X = {0: (0.25, 0.75, 0.0), 1: (0.0, 0.75, 0.25)}


class ESPCN7(nn.Module):
    """The seed's ESPCN_7."""

    def __init__(self, *, in_channels: int = 3, scale: int = 2, selection_unit: bool = False) -> None:
        super().__init__()
        widths = (in_channels, 64, 64, 128, 128, 256, 256)
        self.conv = nn.Sequential(*[
            Conv2dLayer(a, b, 3, nn.SELU(inplace=True), selection_unit=selection_unit)
            for a, b in zip(widths, widths[1:])
        ])
        self.up_sampler = UpSampler(scale, 256, in_channels, 3, selection_unit=selection_unit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.up_sampler(self.conv(x)), min=0, max=1)

    @property
    def init_schemes(self) -> tuple[str, ...]:
        """Starting points for training: 'interpolate' (2x, no selection units)."""
        has_su = any(isinstance(m, SelectionUnit) for m in self.modules())
        return () if has_su or self.up_sampler[1].upscale_factor != 2 else ("interpolate",)

    @torch.no_grad()
    def init_weights(self, scheme: str) -> None:
        """'interpolate': start as bilinear 2x upscaling, so training learns a correction to it.

        Without a residual path ESPCN_7 spends thousands of steps learning to copy its input; here the
        first `in_channels` features of every layer carry the input unchanged (pixels are >= 0, where
        SELU is linear), the upsampler turns them into bilinear 2x, and the other features start small.
        """
        if scheme not in self.init_schemes:
            raise ValueError(f"unknown init scheme {scheme!r}; offered: {self.init_schemes}")
        c = self.conv[0][0].in_channels
        for layer in self.conv:
            conv = layer[0]
            conv.weight[:c].zero_()
            conv.bias[:c].zero_()
            for i in range(c):
                conv.weight[i, i, 1, 1] = 1 / SELU_SCALE
        up = self.up_sampler[0]
        up.weight.mul_(0.1)
        up.weight[:, :c].zero_()
        up.bias.zero_()
        for i in range(c):  # PixelShuffle: output channel i*4 + dy*2 + dx is colour i at sub-pixel (dy, dx)
            for dy in (0, 1):
                for dx in (0, 1):
                    up.weight[i * 4 + dy * 2 + dx, i] = torch.outer(torch.tensor(BILINEAR_2X[dy]), torch.tensor(BILINEAR_2X[dx]))

    def forward_checkpoint(self, x: torch.Tensor) -> torch.Tensor:
        """Training-time forward that drops intermediate activations to save memory."""
        x = checkpoint(self.conv, x, use_reentrant=False)
        x = checkpoint(self.up_sampler, x, use_reentrant=False)
        return torch.clamp(x, min=0, max=1)


def build(*, scale: int = 2, selection_unit: bool = False) -> ESPCN7:
    """Keyword-only builder."""
    return ESPCN7(scale=scale, selection_unit=selection_unit)
