"""waifu2x's vgg_7 (nagadomi/waifu2x lib/srcnn.lua), run the way waifu2x's reconstruct.scale does for it."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CHANNELS = (3, 32, 32, 64, 64, 128, 128, 3)  # nInputPlane/nOutputPlane of the JSON export's seven layers


class NearestUp(nn.Module):
    """Enlarge by an integer factor, each pixel copied to a factor×factor block."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest-neighbour upscaling."""
        return F.interpolate(x, scale_factor=self.factor, mode="nearest")

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        """For zoo's ncnn exporter: Interp type 1 (nearest) with the factor on both axes."""
        return "Interp", {0: 1, 1: float(self.factor), 2: float(self.factor)}


class CropBorder(nn.Module):
    """Drop `n` pixels on every side."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The centre, `n` px in from each edge."""
        return x[..., self.n:-self.n, self.n:-self.n]

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        """For zoo's ncnn exporter: Crop as a numpy-style slice (starts 9, ends 10, axes 11 over c, h, w).

        (The woffset2/hoffset2 form of Crop crashes the PyPI ncnn on the CPU.)
        """
        return "Crop", {9: [self.n, self.n], 10: [-self.n, -self.n], 11: [1, 2]}


class VGG7(nn.Sequential):
    """Nearest-neighbour 2x, seven unpadded 3×3 convs (LeakyReLU 0.1 after all but the last), 1 px crop: H → 2H − 16.

    vgg_7 itself is a 1x network (model_config scale_factor 1): waifu2x enlarges the image first with
    GraphicsMagick's Box filter, which at exactly 2x copies each pixel to a 2×2 block, i.e. nearest neighbour.
    The convs consume 7 HR px per side; zoo counts offsets in input pixels, so the input carries 4 (8 HR px)
    and the surplus HR pixel per side is cropped.
    """

    def __init__(self) -> None:
        layers: list[nn.Module] = [NearestUp(2)]
        for cin, cout in zip(CHANNELS, CHANNELS[1:]):
            layers += [nn.Conv2d(cin, cout, 3, 1, 0), nn.LeakyReLU(0.1, inplace=True)]
        super().__init__(*layers[:-1], CropBorder(1))  # no activation after the last conv


def build() -> VGG7:
    """vgg_7 has no hyperparameters."""
    return VGG7()
