"""waifu2x CUNet (nagadomi/waifu2x `cunet` / nunif UpCUNet): two unpadded U-Nets with SE blocks, 2x or 1x.

Layer order follows the ncnn files (weights map onto the modules in definition order). Called directly,
an SE block's gate is the mean over the feature map it is given (ncnn's Pooling global average); through
zoo's tiler the gates are the whole image's (zoo_core/infer/image_se.py), so tiles equal the whole image.
"""
from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import fx, nn

from zoo import WeightsError
from zoo.plugin import Features, Gates, Reached, TileSource, prepare_se_image

# (stride, centre of position 0) of each SE block's feature map, in input pixels from the tile's first pixel.
ANCHORS = {2: ((2, 6.5), (1, 11.0), (2, 15.5), (1, 17.0)), 1: ((2, 6.5), (2, 14.5), (4, 23.5), (2, 26.5))}


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """waifu2x's LeakyReLU(0.1)."""
    return F.leaky_relu(x, 0.1, inplace=True)


class SEBlock(nn.Module):
    """Squeeze-excitation: mean over H, W → 1x1 conv, ReLU → 1x1 conv, sigmoid → channel gate."""

    def __init__(self, *, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

        self._gates = threading.local()  # per thread: one Upscaler may serve images from several threads

    @property
    def gate(self) -> torch.Tensor | None:
        """The image-wide gate set by prepare_image for this thread's current image, else None."""
        return getattr(self._gates, "value", None)

    @gate.setter
    def gate(self, value: torch.Tensor | None) -> None:
        self._gates.value = value

    @property
    def stop_here(self) -> bool:
        """Whether this thread's forward pass stops here, raising Reached with the input (a gathering pass)."""
        return getattr(self._gates, "stop", False)

    @stop_here.setter
    def stop_here(self, value: bool) -> None:
        self._gates.stop = value

    def excite(self, mean: torch.Tensor) -> torch.Tensor:
        """The channel gate for a (N, C, 1, 1) mean: sigmoid(fc2(relu(fc1(mean))))."""
        return torch.sigmoid(self.fc2(F.relu(self.fc1(mean))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x · gate, the gate from this input's own mean unless an image-wide one is set."""
        if self.stop_here:
            raise Reached(x)
        if self.gate is not None:
            return x * self.gate
        # summed in float64 like the tile-by-tile gathering, so both round to the same float32 mean
        return x * self.excite(x.double().mean((2, 3), keepdim=True).to(x.dtype))


class UNetConv(nn.Sequential):
    """Two unpadded 3x3 convs with LeakyReLU(0.1), then an optional SE block."""

    def __init__(self, *, cin: int, mid: int, cout: int, se: bool) -> None:
        super().__init__(nn.Conv2d(cin, mid, 3), nn.LeakyReLU(0.1, inplace=True),
                         nn.Conv2d(mid, cout, 3), nn.LeakyReLU(0.1, inplace=True),
                         *([SEBlock(channels=cout)] if se else []))


def crop_like(x: torch.Tensor, ref: torch.Tensor, offset: int) -> torch.Tensor:
    """ncnn Crop with a reference blob: `offset` pixels in from the top-left, ref's size."""
    return x[..., offset:offset + ref.shape[-2], offset:offset + ref.shape[-1]]


# zoo's ncnn exporter keeps an fx-wrapped call whole and asks it for its layer (ref's size is not a constant)
crop_like.ncnn_layer = lambda offset: ("Crop", {0: offset, 1: offset})  # type: ignore[attr-defined]
fx.wrap("crop_like")


class UNet1(nn.Module):
    """One down/up level with SE at the bottom; `bottom` (a 2x or 3x deconv, or a 3x3 conv for 1x) at the end."""

    def __init__(self, *, bottom: nn.Module) -> None:
        super().__init__()
        self.conv1 = UNetConv(cin=3, mid=32, cout=64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2)
        self.conv2 = UNetConv(cin=64, mid=128, cout=64, se=True)
        self.conv2_up = nn.ConvTranspose2d(64, 64, 2, 2)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.conv_bottom = bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """H → 2H − 32 (2x deconv), 3H − 44 (3x deconv) or H − 16 (conv)."""
        x1 = self.conv1(x)
        x2 = lrelu(self.conv2_up(self.conv2(lrelu(self.conv1_down(x1)))))
        return self.conv_bottom(lrelu(self.conv3(crop_like(x1, x2, 4) + x2)))


class UNet2(nn.Module):
    """Two down/up levels with SE at three places; a 3x3 conv at the end (RGB, or cin/cout feature channels)."""

    def __init__(self, *, cin: int = 3, cout: int = 3) -> None:
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


class CUNet(nn.Module):
    """unet1, then unet2 refining it: unet1(x) cropped by 20 + unet2(unet1(x))."""

    def __init__(self, *, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self.unet1 = UNet1(bottom=nn.ConvTranspose2d(64, 3, 4, 2, 3) if scale == 2 else nn.Conv2d(64, 3, 3))
        self.unet2 = UNet2()

    def check_ncnn_graph(self, layers: list[dict], where: str) -> None:
        """The file's skip crops (4, 4, 16, 20) and global average pools must be the ones this module takes."""
        crops = [int(lay["params"].get(0, 0)) for lay in layers if lay["type"] == "Crop"]
        pools = {(lay["params"].get(0), lay["params"].get(4)) for lay in layers if lay["type"] == "Pooling"}
        if crops != [4, 4, 16, 20] or pools != {("1", "1")}:
            raise WeightsError(f"'{where}' crops by {crops} and pools {sorted(pools)}; CUNet crops by [4, 4, 16, 20] "
                               "and pools by global average. It is not a waifu2x CUNet file.")

    def prepare_image(self, tiles: TileSource, *, tta: bool = False, features: Features | None = None) -> Gates:
        """zoo's tiler hook: fix every SE gate to the whole image's statistics (zoo_core/infer/image_se.py)."""
        return prepare_se_image(self, tiles, ANCHORS[self.scale], tta=tta, family="cunet", features=features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """2x: H → 2H − 72 (offset 18); 1x: H → H − 56 (offset 28)."""
        z = self.unet1(x)
        z2 = self.unet2(z)
        return crop_like(z, z2, 20) + z2


def build_2x() -> CUNet:
    """CUNet 2x (waifu2x cunet scale2x / noiseN_scale2x)."""
    return CUNet(scale=2)


def build_1x() -> CUNet:
    """CUNet 1x (waifu2x cunet noiseN: denoise only)."""
    return CUNet(scale=1)
