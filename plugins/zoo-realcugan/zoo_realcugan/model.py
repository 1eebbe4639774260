"""Real-CUGAN UpCunet 2x/3x/4x (bilibili/ailab): waifu2x CUNet's two unpadded U-Nets with SE blocks.

Layer order follows the ncnn files (weights map onto the modules in definition order). 2x is CUNet 2x;
3x ends unet1 with a 3x deconv; 4x runs both U-Nets at 64 channels, then a conv, a 1 px crop and a
PixelShuffle, and adds the nearest-upscaled input (realcugan-ncnn-vulkan does that add outside the .param).
Through zoo's tiler every SE gate is the whole image's (image_se.py), so tiles equal the whole image.
"""
from __future__ import annotations

from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from zoo import WeightsError
from zoo_cunet.image_se import TileSource
from zoo_cunet.model import UNetConv, crop_like, lrelu

from .image_se import Gates, prepare_image

# (stride, centre of position 0) of each U-Net's SE feature maps, in the U-Net's own input pixels.
UNET1_SE = ((Fraction(2), Fraction(13, 2)),)
UNET2_SE = ((Fraction(2), Fraction(13, 2)), (Fraction(4), Fraction(31, 2)), (Fraction(2), Fraction(37, 2)))


class UNet1(nn.Module):
    """One down/up level with SE at the bottom; a 2x (k4 s2 p3) or 3x (k5 s3 p2) deconv at the end."""

    def __init__(self, *, cout: int, up: int) -> None:
        super().__init__()
        self.conv1 = UNetConv(cin=3, mid=32, cout=64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2)
        self.conv2 = UNetConv(cin=64, mid=128, cout=64, se=True)
        self.conv2_up = nn.ConvTranspose2d(64, 64, 2, 2)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.conv_bottom = nn.ConvTranspose2d(64, cout, 4, 2, 3) if up == 2 else nn.ConvTranspose2d(64, cout, 5, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """H → 2H − 32 (2x) or 3H − 44 (3x)."""
        x1 = self.conv1(x)
        x2 = lrelu(self.conv2_up(self.conv2(lrelu(self.conv1_down(x1)))))
        return self.conv_bottom(lrelu(self.conv3(crop_like(x1, x2, 4) + x2)))


class UNet2(nn.Module):
    """Two down/up levels with SE at three places; a 3x3 conv at the end."""

    def __init__(self, *, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = UNetConv(cin=cin, mid=32, cout=64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2)
        self.conv2 = UNetConv(cin=64, mid=64, cout=128, se=True)
        self.conv2_down = nn.Conv2d(128, 128, 2, 2)
        self.conv3 = UNetConv(cin=128, mid=256, cout=128, se=True)
        self.conv3_up = nn.ConvTranspose2d(128, 128, 2, 2)
        self.conv4 = UNetConv(cin=128, mid=64, cout=64, se=True)
        self.conv4_up = nn.ConvTranspose2d(64, 64, 2, 2)
        self.conv5 = nn.Conv2d(64, 64, 3)
        self.conv_bottom = nn.Conv2d(64, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """H → H − 40."""
        x1 = self.conv1(x)
        x2 = self.conv2(lrelu(self.conv1_down(x1)))
        x3 = lrelu(self.conv3_up(self.conv3(lrelu(self.conv2_down(x2)))))
        x4 = lrelu(self.conv4_up(self.conv4(crop_like(x2, x3, 4) + x3)))
        return self.conv_bottom(lrelu(self.conv5(crop_like(x1, x4, 16) + x4)))


class UpCunet(nn.Module):
    """unet1, then unet2 refining it (4x: at 64 channels, then conv, crop, PixelShuffle, + nearest input)."""

    OFFSET = {2: 18, 3: 14, 4: 19}

    def __init__(self, *, scale: int = 2) -> None:
        super().__init__()
        if scale not in self.OFFSET:
            raise WeightsError(f"Real-CUGAN has 2x, 3x and 4x networks, not {scale}x. Fix: set scale to 2, 3 or 4.")
        self.scale = scale
        width = 64 if scale == 4 else 3
        self.unet1 = UNet1(cout=width, up=3 if scale == 3 else 2)
        self.unet2 = UNet2(cin=width, cout=width)
        if scale == 4:
            self.conv_final = nn.Conv2d(64, 12, 3)
        # unet1's output pixel j sits at input pixel j/up + c0 (both in pixel-centre coordinates)
        up = 3 if scale == 3 else 2
        c0 = (Fraction(1, 2) + Fraction(44 if up == 3 else 32, 2)) / up - Fraction(1, 2)
        self.se_anchors = UNET1_SE + tuple((s / up, c0 + c / up) for s, c in UNET2_SE)

    def check_ncnn_graph(self, layers: list[dict], where: str) -> None:
        """The file's skip crops, global average pools (and 4x's PixelShuffle) must be the ones this module takes."""
        crops = [int(lay["params"].get(9, "0,0").split(",")[1]) for lay in layers if lay["type"] == "Crop"]
        pools = {(lay["params"].get(0), lay["params"].get(4)) for lay in layers if lay["type"] == "Pooling"}
        shuffles = [lay["params"].get(0) for lay in layers if lay["type"] == "PixelShuffle"]
        want = ([4, 4, 16, 20, 1], ["2"]) if self.scale == 4 else ([4, 4, 16, 20], [])
        if (crops, shuffles) != want or pools != {("1", "1")}:
            raise WeightsError(f"'{where}' crops by {crops}, pools {sorted(pools)} and shuffles {shuffles}; Real-CUGAN "
                               f"{self.scale}x crops by {want[0]}, pools by global average and shuffles {want[1]}. "
                               f"It is not a Real-CUGAN {self.scale}x file.")

    def prepare_image(self, tiles: TileSource, *, tta: bool = False) -> Gates:
        """zoo's tiler hook: fix every SE gate to the whole image's statistics (see image_se.py)."""
        return prepare_image(self, tiles, tta=tta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """2x: H → 2H − 72; 3x: H → 3H − 84; 4x: H → 4H − 152 (offsets 18, 14, 19)."""
        z = self.unet1(x)
        z2 = self.unet2(z)
        y = crop_like(z, z2, 20) + z2
        if self.scale != 4:
            return y
        y = F.pixel_shuffle(self.conv_final(y)[..., 1:-1, 1:-1], 2)
        o = self.OFFSET[4]
        return y + x[..., o:-o, o:-o].repeat_interleave(4, -2).repeat_interleave(4, -1)


def build(*, scale: int = 2) -> UpCunet:
    """Real-CUGAN UpCunet{scale}x (the se and pro weights share the network)."""
    return UpCunet(scale=scale)
