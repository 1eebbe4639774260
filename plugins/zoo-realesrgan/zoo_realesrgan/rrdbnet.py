"""RRDBNet (ESRGAN / Real-ESRGAN x4plus) as xinntao/BasicSR defines it, at 1x/2x/4x/8x, and ESRGAN+ ("plus").

Scales below 4 in Real-ESRGAN's files take a pixel-unshuffled input (`unshuffle` 2 or 4) into the same 4x body;
old ESRGAN files reach 1x/2x/8x by the number of nearest-2x upsamplings instead (log2(scale * unshuffle) of them).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo import ZooError

from .geometry import trim


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs, each seeing all earlier outputs; output scaled by 0.2 plus the input."""

    def __init__(self, *, num_feat: int, num_grow_ch: int, plus: bool = False) -> None:
        super().__init__()
        self.convs = [nn.Conv2d(num_feat + i * num_grow_ch, num_feat if i == 4 else num_grow_ch, 3, 1, 1)
                      for i in range(5)]
        for i, conv in enumerate(self.convs):
            self.add_module(f"conv{i + 1}", conv)
        # ESRGAN+ (nESRGAN+): a bias-free 1x1 skip from the input into x2, and x2 into x4
        self.conv1x1 = nn.Conv2d(num_feat, num_grow_ch, 1, bias=False) if plus else None
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + 0.2 * conv5(cat(x, x1..x4)) (plus: x2 += conv1x1(x), x4 += x2)."""
        feats = [x]
        for i in range(4):
            out = self.lrelu(self.convs[i](torch.cat(feats, 1)))
            if self.conv1x1 is not None and i == 1:
                out = out + self.conv1x1(x)
            elif self.conv1x1 is not None and i == 3:
                out = out + feats[2]
            feats.append(out)
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three dense blocks; output scaled by 0.2 plus the input."""

    def __init__(self, *, num_feat: int, num_grow_ch: int, plus: bool = False) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch, plus=plus)
        self.rdb2 = ResidualDenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch, plus=plus)
        self.rdb3 = ResidualDenseBlock(num_feat=num_feat, num_grow_ch=num_grow_ch, plus=plus)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + 0.2 * rdb3(rdb2(rdb1(x)))."""
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class Unshuffle(nn.PixelUnshuffle):
    """PixelUnshuffle that names its ncnn layer: Reorg (mode 0) orders channels as PyTorch does (c·r² + i·r + j)."""

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        """For zoo's ncnn exporter."""
        return "Reorg", {0: int(self.downscale_factor)}


class RRDBNet(nn.Module):
    """[pixel-unshuffle,] conv_first, num_block RRDBs + conv_body (residual), 2x nearest + conv per 2x, conv_hr, conv_last."""

    def __init__(self, *, num_feat: int = 16, num_block: int = 1, num_grow_ch: int = 8, scale: int = 4,
                 unshuffle: int = 1, plus: bool = False) -> None:
        super().__init__()
        self.unshuffle = Unshuffle(unshuffle) if unshuffle > 1 else nn.Identity()
        self.ups = upsamplings(scale, unshuffle)
        self.conv_first = nn.Conv2d(3 * unshuffle * unshuffle, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat=num_feat, num_grow_ch=num_grow_ch, plus=plus)
                                    for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_ups = [nn.Conv2d(num_feat, num_feat, 3, 1, 1) for _ in range(self.ups)]
        for i, conv in enumerate(self.conv_ups):
            self.add_module(f"conv_up{i + 1}", conv)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        # LR pixels per side dropped after the trunk (the architecture's offset): the 4x tail needs only 2 px of
        # context (1.25 LR px of 3x3 convs at 2x and 4x), so exact tiles do not carry the trunk's 15 px per block
        # through the HR convolutions, which were most of the time and memory (a 444² tile became 1776² at 64 ch).
        self.trim = trim(num_block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """NCHW in [0,1], padded by the architecture's context → NCHW at 4x, `trim` LR px per side shorter."""
        feat = self.conv_first(self.unshuffle(x))
        feat = feat + self.conv_body(self.body(feat))
        if self.trim:  # 0: the plain network (the original files' output size)
            t = self.trim
            feat = feat[..., t:-t, t:-t]
        for conv in self.conv_ups:
            feat = self.lrelu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def upsamplings(scale: int, unshuffle: int) -> int:
    """How many nearest-2x steps make `scale` from an input unshuffled by `unshuffle` (0 to 3)."""
    total = scale * unshuffle
    if unshuffle not in (1, 2, 4) or total not in (1, 2, 4, 8):
        raise ZooError(f"rrdbnet: scale {scale} with unshuffle {unshuffle} is no power-of-two network; expected "
                       "scale 1, 2, 4 or 8 and unshuffle 1, 2 or 4 with scale x unshuffle at most 8.")
    return total.bit_length() - 1


def build(*, num_feat: int = 16, num_block: int = 1, num_grow_ch: int = 8) -> RRDBNet:
    """RRDBNet 4x (x4plus: 64/32 channels, 23 blocks; x4plus-anime: 6 blocks)."""
    return RRDBNet(num_feat=num_feat, num_block=num_block, num_grow_ch=num_grow_ch)


def build_esrgan(*, num_feat: int = 16, num_block: int = 1, num_grow_ch: int = 8, scale: int = 4, unshuffle: int = 1,
                 plus: bool = False) -> RRDBNet:
    """RRDBNet as community files vary it (x2plus: scale 2, unshuffle 2; old ESRGAN 8x: scale 8; ESRGAN+: plus)."""
    return RRDBNet(num_feat=num_feat, num_block=num_block, num_grow_ch=num_grow_ch, scale=scale,
                   unshuffle=unshuffle, plus=plus)

