"""UpConv_7 exactly as waifu2x (nagadomi/waifu2x lib/srcnn.lua upconv_7) and the seed."""
from __future__ import annotations

from torch import nn

CHANNELS = (3, 16, 32, 64, 128, 128, 256)


class UpConv7(nn.Sequential):
    """Six unpadded 3×3 convs with LeakyReLU(0.1), then a stride-2 4×4 transposed conv: H → 2H − 28."""

    def __init__(self) -> None:
        layers: list[nn.Module] = []
        for cin, cout in zip(CHANNELS, CHANNELS[1:]):
            layers += [nn.Conv2d(cin, cout, 3, 1, 0), nn.LeakyReLU(0.1, inplace=True)]
        # waifu2x dropped this bias in 2016; the ncnn/ONNX copies carry it as zeros.
        layers.append(nn.ConvTranspose2d(256, 3, 4, 2, 3, bias=False))
        super().__init__(*layers)


def build() -> UpConv7:
    """UpConv_7 has no hyperparameters."""
    return UpConv7()
