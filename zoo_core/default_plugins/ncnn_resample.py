"""Bicubic upsampling by an integer factor as plain ncnn layers, exact to torch's F.interpolate.

Torch's bicubic (A = -0.75, align_corners=False) by an integer factor r gives output pixel r·i + p from
four input pixels around i with weights that depend only on the phase p, and clamps indices at the border.
So it is Padding(replicate, 2) → a fixed 5×5 convolution into C·r² channels (one outer-product kernel per
channel and phase) → PixelShuffle(r): ncnn layers every build has, no reliance on ncnn's own Interp border rules.
"""
from __future__ import annotations

import numpy as np
from torch import fx, nn

from .ncnn_layer import Layer, UnsupportedModule

A = -0.75  # torch's cubic convolution constant (aten UpSample.h)
REACH = 2  # for any integer factor the four taps lie within ±2 input pixels of i


def _cubic_weights(t: float) -> tuple[float, float, float, float]:
    """torch's get_cubic_upsample_coefficients(t): weights of taps at -1, 0, +1, +2."""
    def near(x: float) -> float:
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x: float) -> float:
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def phase_filters(r: int) -> np.ndarray:
    """(r, 5) float64: the 1-D weights over input offsets -2..+2 for each output phase p (output r·i + p)."""
    out = np.zeros((r, 2 * REACH + 1))
    for p in range(r):
        src = (p + 0.5) / r - 0.5  # align_corners=False source coordinate, relative to i
        first = int(np.floor(src))
        for k, w in enumerate(_cubic_weights(src - first)):
            out[p, first - 1 + k + REACH] = w
    return out


def bicubic_kernel(channels: int, r: int) -> np.ndarray:
    """(C·r², C, 5, 5) convolution weights whose PixelShuffle(r) is bicubic upsampling of C channels."""
    f = phase_filters(r)
    w = np.zeros((channels * r * r, channels, 2 * REACH + 1, 2 * REACH + 1), np.float32)
    for c in range(channels):
        for py in range(r):
            for px in range(r):
                w[c * r * r + py * r + px, c] = np.outer(f[py], f[px])  # PixelShuffle's channel order
    return w


def input_channels(node: fx.Node, modules: dict[str, nn.Module]) -> int:
    """Channels of the tensor `node`, read from the convolution that makes or first reads it."""
    if node.op == "call_module" and isinstance(modules[node.target], (nn.Conv2d, nn.ConvTranspose2d)):
        return modules[node.target].out_channels  # type: ignore[return-value]
    for user in node.users:
        if user.op == "call_module" and isinstance(modules[user.target], nn.Conv2d) and user.args[0] is node:
            return modules[user.target].in_channels  # type: ignore[return-value]
    raise UnsupportedModule(f"{node.name}: cannot tell the channel count feeding a bicubic upsample")


def bicubic_layers(node: fx.Node, src: str, modules: dict[str, nn.Module]) -> list[Layer] | None:
    """Layers for F.interpolate(x, scale_factor=r, mode='bicubic', align_corners=False); None if not that call."""
    # fx records interpolate's defaults too: drop those that leave the result unchanged
    kw = {k: v for k, v in node.kwargs.items()
          if not (k in ("size", "recompute_scale_factor") and v is None or k == "antialias" and v is False)}
    if kw.get("mode") != "bicubic":
        return None
    factor = kw.pop("scale_factor", None)
    kw.pop("mode")
    if len(node.args) > 1 or kw.pop("align_corners", False) or kw or not isinstance(factor, int) or factor < 1:
        raise UnsupportedModule(f"{node.name}: bicubic other than by an integer scale_factor, align_corners=False")
    c, name = input_channels(node.args[0], modules), node.name  # type: ignore[arg-type]
    w = bicubic_kernel(c, factor)
    conv = {0: w.shape[0], 1: w.shape[3], 11: w.shape[2], 5: 0, 6: w.size}
    return [Layer("Padding", f"{name}_pad", [src], [f"{name}_pad"], {0: REACH, 1: REACH, 2: REACH, 3: REACH, 4: 1}),
            Layer("Convolution", f"{name}_conv", [f"{name}_pad"], [f"{name}_conv"], conv, [(w, True)]),
            Layer("PixelShuffle", name, [f"{name}_conv"], [name], {0: factor})]
