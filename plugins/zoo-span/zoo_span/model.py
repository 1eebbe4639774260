"""SPAN at inference: each Conv3XC is one 3x3 convolution (its 1x1-3x3-1x1 branch and 1x1 skip fused, as the
authors' eval mode does); blocks gate their output by sigmoid - 0.5, the parameter-free attention."""
from __future__ import annotations

import torch
from torch import nn

BLOCKS = 6


class Swish(nn.SiLU):
    """SiLU that names its ncnn layer (ncnn's Swish is x·sigmoid(x))."""

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        """For zoo's ncnn exporter."""
        return "Swish", {}


def conv3(cin: int, cout: int) -> nn.Conv2d:
    """A same-padded 3x3 convolution (a fused Conv3XC)."""
    return nn.Conv2d(cin, cout, 3, 1, 1)


class SPAB(nn.Module):
    """Three convs with SiLU between; output (c3 + x)·(sigmoid(c3) - 0.5), plus the first activation (for conv_cat)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1_r, self.c2_r, self.c3_r = conv3(channels, channels), conv3(channels, channels), conv3(channels, channels)
        self.act1 = Swish()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gated output, SiLU(c1_r(x)))."""
        out1 = self.act1(self.c1_r(x))
        out3 = self.c3_r(self.act1(self.c2_r(out1)))
        return (out3 + x) * (torch.sigmoid(out3) - 0.5), out1


class SPAN(nn.Module):
    """[(x - mean)·255 as a fixed 1x1 conv,] conv_1, six SPABs, conv_2, conv_cat over four taps, conv + PixelShuffle."""

    def __init__(self, *, feature_channels: int = 16, scale: int = 4, norm: bool = True) -> None:
        super().__init__()
        self.norm = nn.Conv2d(3, 3, 1) if norm else nn.Identity()  # its weights come with the file's conversion
        self.conv_1 = conv3(3, feature_channels)
        self.blocks = [SPAB(feature_channels) for _ in range(BLOCKS)]
        for i, block in enumerate(self.blocks):
            self.add_module(f"block_{i + 1}", block)
        self.conv_2 = conv3(feature_channels, feature_channels)
        self.conv_cat = nn.Conv2d(4 * feature_channels, feature_channels, 1)
        self.upsampler = nn.Sequential(conv3(feature_channels, 3 * scale * scale), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """NCHW RGB in [0, 1] → NCHW at `scale`×."""
        feature = self.conv_1(self.norm(x))
        out, first = feature, feature
        for i, block in enumerate(self.blocks):
            out, taps = block(out)
            if i == 0:
                first = out
        out = self.conv_cat(torch.cat([feature, self.conv_2(out), first, taps], 1))
        return self.upsampler(out)


def build(*, feature_channels: int = 16, scale: int = 4, norm: bool = True) -> SPAN:
    """SPAN (the paper's: 48 channels; NTIRE 2024's: 52); `norm`: the input is (x - DIV2K mean)·255 first."""
    return SPAN(feature_channels=feature_channels, scale=scale, norm=norm)
