"""Bicubic upsampling by an integer factor as one ncnn Interp layer, exact to torch's F.interpolate.

ncnn's Interp (resize_type 3) uses torch's kernel (A = -0.75, align_corners=False source coordinates) and
folds the taps that fall outside the image onto the border pixels, which is torch's index clamping: within
1e-5 of torch for every size down to 1x1 and factors 2-4 (tests/test_ncnn_bicubic.py). It replaces an
earlier Padding + fixed 5x5 convolution + PixelShuffle form that cost drrn-lite ~5 % of its time for <1 % of
its multiply-adds (benchmarks/README.md, issue 17).
"""
from __future__ import annotations

from torch import fx

from .ncnn_layer import Layer, UnsupportedModule

BICUBIC = 3  # ncnn Interp resize_type


def bicubic_layers(node: fx.Node, src: str, modules: object = None) -> list[Layer] | None:
    """Layers for F.interpolate(x, scale_factor=r, mode='bicubic', align_corners=False); None if not that call."""
    del modules  # Interp needs no channel count; the parameter stays for ncnn_export's call
    # fx records interpolate's defaults too: drop those that leave the result unchanged
    kw = {k: v for k, v in node.kwargs.items()
          if not (k in ("size", "recompute_scale_factor") and v is None or k == "antialias" and v is False)}
    if kw.get("mode") != "bicubic":
        return None
    factor = kw.pop("scale_factor", None)
    kw.pop("mode")
    if len(node.args) > 1 or kw.pop("align_corners", False) or kw or not isinstance(factor, int) or factor < 1:
        raise UnsupportedModule(f"{node.name}: bicubic other than by an integer scale_factor, align_corners=False")
    return [Layer("Interp", node.name, [src], [node.name], {0: BICUBIC, 1: float(factor), 2: float(factor)})]
