"""DRRN-lite: DRRN's recursive residual unit (shared weights, residual to the block input) at LR
resolution, then sub-pixel upsampling, plus a global residual from a bicubic upsample of the input."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


class DRRNLite(nn.Module):
    """entry conv → `units` two-conv residual units, each recursed R times with shared weights → conv to 3·r² →
    PixelShuffle, + bicubic(x)."""

    def __init__(self, *, scale: int = 2, channels: int = 32, recursions: int = 7, units: int = 1) -> None:
        super().__init__()
        self.scale, self.recursions = scale, recursions
        self.entry = nn.Conv2d(3, channels, 3, padding=1)
        # Each residual unit's weights are reused at every recursion (DRRN's parameter sharing); more units
        # buy capacity at the same multiply-adds as more recursions of one.
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.more = nn.ModuleList(
            nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1), nn.Conv2d(channels, channels, 3, padding=1)])
            for _ in range(units - 1))
        self.exit = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.exit.weight)  # start as plain bicubic; the net learns the residual
        nn.init.zeros_(self.exit.bias)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.entry(x)
        h = h0
        for conv1, conv2 in [(self.conv1, self.conv2), *self.more]:
            for _ in range(self.recursions):
                h = conv2(F.relu(conv1(F.relu(h)))) + h0  # pre-activation unit, residual to h0
        return self.shuffle(self.exit(F.relu(h)))

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self._body(x) + self._upsample(x)).clamp(0, 1)

    def forward_checkpoint(self, x: torch.Tensor) -> torch.Tensor:
        """Training-time forward recomputing the body in backward to save memory."""
        return (checkpoint(self._body, x, use_reentrant=False) + self._upsample(x)).clamp(0, 1)


def build(*, scale: int = 2, channels: int = 32, recursions: int = 7, units: int = 1) -> DRRNLite:
    """Keyword-only builder."""
    return DRRNLite(scale=scale, channels=channels, recursions=recursions, units=units)
