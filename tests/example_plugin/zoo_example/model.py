"""The example network: imported only when zoo builds it, so `zoo list` never loads torch."""
from __future__ import annotations

import torch
from torch import nn


class TinySR(nn.Module):
    """One 3×3 conv to 3·r² channels and a PixelShuffle: the smallest useful upscaler."""

    def __init__(self, *, scale: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def build(*, scale: int = 2) -> TinySR:
    """Keyword-only, so a misspelled hyperparameter fails."""
    return TinySR(scale=scale)
