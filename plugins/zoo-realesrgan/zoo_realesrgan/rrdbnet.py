"""RRDBNet (ESRGAN / Real-ESRGAN x4plus) exactly as xinntao/BasicSR defines it, for 4x."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .geometry import trim


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, each seeing all earlier outputs; output scaled by 0.2 plus the input."""

    def __init__(self, *, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        for i in range(5):
            cout = num_feat if i == 4 else num_grow_ch
            setattr(self, f"conv{i + 1}", nn.Conv2d(num_feat + i * num_grow_ch, cout, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + 0.2 * conv5(cat(x, x1..x4))."""
        feats = [x]
        for i in range(1, 5):
            feats.append(self.lrelu(getattr(self, f"conv{i}")(torch.cat(feats, 1))))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three dense blocks; output scaled by 0.2 plus the input."""

    def __init__(self, *, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + 0.2 * rdb3(rdb2(rdb1(x)))."""
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """conv_first, num_block RRDBs + conv_body (residual), 2x nearest + conv twice, conv_hr, conv_last."""

    def __init__(self, *, num_feat: int = 16, num_block: int = 1, num_grow_ch: int = 8) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat=num_feat, num_grow_ch=num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        # LR pixels per side dropped after the trunk (the architecture's offset): the 4x tail needs only 2 px of
        # context (1.25 LR px of 3x3 convs at 2x and 4x), so exact tiles do not carry the trunk's 15 px per block
        # through the HR convolutions, which were most of the time and memory (a 444² tile became 1776² at 64 ch).
        self.trim = trim(num_block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """NCHW in [0,1], padded by the architecture's context → NCHW at 4x, `trim` LR px per side shorter."""
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        if self.trim:  # 0: the plain network (the original files' output size)
            t = self.trim
            feat = feat[..., t:-t, t:-t]
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def build(*, num_feat: int = 16, num_block: int = 1, num_grow_ch: int = 8) -> RRDBNet:
    """RRDBNet 4x (x4plus: 64/32 channels, 23 blocks; x4plus-anime: 6 blocks)."""
    return RRDBNet(num_feat=num_feat, num_block=num_block, num_grow_ch=num_grow_ch)

