"""The ncnn exporter turns Winograd off (featmask bit 6) for RGB entry convolutions only."""
from __future__ import annotations

from torch import nn

from zoo_core.default_plugins.ncnn_export import export_ncnn


def _conv_lines(module: nn.Module) -> list[str]:
    return [ln for ln in export_ncnn(module.eval()).param.splitlines() if ln.startswith("Convolution")]


def test_only_convolutions_reading_fewer_than_four_channels_skip_winograd():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 4, 3, padding=1, groups=4), nn.ReLU(), nn.Conv2d(4, 3, 1))
    entry, middle, grouped, last = _conv_lines(net)
    assert entry.endswith(" 31=64")  # 3 input channels
    assert " 31=" not in middle and " 31=" not in last  # 8 and 4 input channels: ncnn's own choice
    assert grouped.startswith("ConvolutionDepthWise") and " 31=" not in grouped
