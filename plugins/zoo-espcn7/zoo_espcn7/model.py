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

    def forward_checkpoint(self, x: torch.Tensor) -> torch.Tensor:
        """Training-time forward that drops intermediate activations to save memory."""
        x = checkpoint(self.conv, x, use_reentrant=False)
        x = checkpoint(self.up_sampler, x, use_reentrant=False)
        return torch.clamp(x, min=0, max=1)


def build(*, scale: int = 2, selection_unit: bool = False) -> ESPCN7:
    """Keyword-only builder."""
    return ESPCN7(scale=scale, selection_unit=selection_unit)
