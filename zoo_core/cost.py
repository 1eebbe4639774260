"""Parameters and multiply-adds per pixel of any registered architecture, measured with forward hooks."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from .architecture import Architecture


def layer_macs(module: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int]]:
    """(multiply-adds, output height, output width) of each conv, transposed-conv and linear layer."""
    found: list[tuple[int, int, int]] = []

    def hook(m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        h, w = (out.shape[-2], out.shape[-1]) if out.dim() == 4 else (1, 1)
        if isinstance(m, nn.ConvTranspose2d):
            # each output element sums in_channels·k·k/stride² products on average
            k = m.kernel_size[0] * m.kernel_size[1] / (m.stride[0] * m.stride[1])
            macs = int(out.numel() * m.in_channels // m.groups * k)
        elif isinstance(m, nn.Conv2d):
            macs = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs = out.numel() * m.in_features
        found.append((macs, h, w))

    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, kinds)]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return found


def cost(arch: Architecture, hyperparameters: Mapping[str, Any] | None = None, size: int = 16) -> dict[str, float]:
    """Parameters and multiply-adds per input and per output pixel of a large image (borders ignored)."""
    module = arch.create(hyperparameters).eval()
    geo = arch.geometry(hyperparameters)
    params = sum(p.numel() for p in module.parameters())
    runs = [
        layer_macs(module, torch.zeros(1, geo.in_channels, n + 2 * geo.offset, n + 2 * geo.offset))
        for n in (size, 2 * size)
    ]
    per_input = 0.0
    for (_, h1, w1), (macs, h2, w2) in zip(*runs):
        # The layer's resolution relative to the input (1, 2, 1/2…), from how it grows with the input,
        # so the pixels an unpadded conv trims at the border do not count.
        rh, rw = (h2 - h1) / size, (w2 - w1) / size
        per_input += macs / (h2 * w2) * rh * rw
    return {
        "parameters": params,
        "macs_per_input_pixel": per_input,
        "macs_per_output_pixel": per_input / geo.scale**2,
    }
