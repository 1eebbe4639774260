"""Real-CUGAN UpCunet 2x/3x/4x (bilibili/ailab): waifu2x CUNet's two unpadded U-Nets with SE blocks.

Layer order follows the ncnn files (weights map onto the modules in definition order). 2x is CUNet 2x;
3x ends unet1 with a 3x deconv; 4x runs both U-Nets at 64 channels, then a conv, a 1 px crop and a
PixelShuffle, and adds the nearest-upscaled input (realcugan-ncnn-vulkan does that add outside the .param).
Through zoo's tiler every SE gate is the whole image's (zoo_core/infer/image_se.py), so tiles equal the whole
image.
"""
from __future__ import annotations

from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import fx, nn

from zoo import WeightsError
from zoo.plugin import Features, Gates, TileSource, prepare_se_image
from zoo_cunet.model import UNet1, UNet2, crop_like

fx.wrap("crop_like")  # one ncnn Crop layer when zoo's exporter traces this module (zoo_cunet.model)

# (stride, centre of position 0) of each U-Net's SE feature maps, in the U-Net's own input pixels.
UNET1_SE = ((Fraction(2), Fraction(13, 2)),)
UNET2_SE = ((Fraction(2), Fraction(13, 2)), (Fraction(4), Fraction(31, 2)), (Fraction(2), Fraction(37, 2)))


class UpCunet(nn.Module):
    """unet1, then unet2 refining it (4x: at 64 channels, then conv, crop, PixelShuffle, + nearest input)."""

    OFFSET = {2: 18, 3: 14, 4: 19}

    def __init__(self, *, scale: int = 2) -> None:
        super().__init__()
        if scale not in self.OFFSET:
            raise WeightsError(f"Real-CUGAN has 2x, 3x and 4x networks, not {scale}x. Fix: set scale to 2, 3 or 4.")
        self.scale = scale
        width = 64 if scale == 4 else 3
        up = 3 if scale == 3 else 2  # unet1 ends in a k4 s2 p3 (2x, 4x) or k5 s3 p2 (3x) deconv
        bottom = nn.ConvTranspose2d(64, width, 5, 3, 2) if up == 3 else nn.ConvTranspose2d(64, width, 4, 2, 3)
        self.unet1 = UNet1(bottom=bottom)
        self.unet2 = UNet2(cin=width, cout=width)
        if scale == 4:
            self.conv_final = nn.Conv2d(64, 12, 3)
        # unet1's output pixel j sits at input pixel j/up + c0 (both in pixel-centre coordinates)
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

    def prepare_image(self, tiles: TileSource, *, tta: bool = False, features: Features | None = None) -> Gates:
        """zoo's tiler hook: fix every SE gate to the whole image's statistics (zoo_core/infer/image_se.py)."""
        return prepare_se_image(self, tiles, self.se_anchors, tta=tta, family="realcugan", features=features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """2x: H → 2H − 72; 3x: H → 3H − 84; 4x: H → 4H − 152 (offsets 18, 14, 19)."""
        z = self.unet1(x)
        z2 = self.unet2(z)
        y = crop_like(z, z2, 20) + z2
        if self.scale != 4:
            return y
        y = F.pixel_shuffle(self.conv_final(y)[..., 1:-1, 1:-1], 2)
        o = self.OFFSET[4]
        return y + F.interpolate(x[..., o:-o, o:-o], scale_factor=4, mode="nearest")  # copies: exact


def build(*, scale: int = 2) -> UpCunet:
    """Real-CUGAN UpCunet{scale}x (the se and pro weights share the network)."""
    return UpCunet(scale=scale)
