"""Same-padded convolutions made valid in an exported ncnn graph, exactly, for tiles that carry their context.

A tile carries `context` real pixels per side, and the tiler keeps only the pixels inside them; a same-padded
convolution spends time and a padded copy of its input (ncnn's make_padding) on the outer ring that the tiler then
drops. Without the padding each such convolution drops the ring itself (`shrink`: pixels per side below the
padded graph's blob), skip connections and concatenations are centre-cropped to meet, and the network's output is
`trim` output pixels per side smaller; the runner puts zeros back there, in the part the tiler never keeps.
ESPCN_7's 270² tile took 0.84x the CPU time (benchmarks/README.md, Goal 1). Where a layer's meaning would change
on a smaller map (an SE block's image-wide mean, a bicubic Interp other than a p/u downscale of a u-aligned crop,
a strided conv) the graph is left as it was.
"""
from __future__ import annotations

from fractions import Fraction

from .ncnn_functions import INT_MAX
from .ncnn_layer import Layer

# Layers that act per pixel (or per channel of a pixel): a ring dropped before them is dropped after them
POINTWISE = {"ReLU", "SELU", "ELU", "Clip", "Sigmoid", "TanH", "PReLU", "UnaryOp", "Swish", "HardSigmoid",
             "HardSwish", "Mish", "Dropout", "Noop", "Split", "BNLL", "Exp", "Log", "Power", "Threshold"}
MEETING = {"BinaryOp", "Eltwise", "Concat"}  # several inputs of one spatial size
H_AXES, W_AXES = (1, -2), (2, -1)  # ncnn Crop axes of a CHW blob (the exporter writes either form)
# Layers whose output is a feature map when their inputs are: only such blobs are centre-cropped where they meet
# (a per-channel vector from a global pooling, say, broadcasts against a map and must not be cropped)
MAPS = {"Input", "Convolution", "ConvolutionDepthWise", "Deconvolution", "PixelShuffle", "Interp", "Crop"} | POINTWISE | MEETING


class Refused(Exception):
    """A layer whose meaning would change on a smaller map: the graph stays as exported."""


def unpad(layers: list[Layer], output: str) -> tuple[list[Layer], int]:
    """(layers with valid convolutions, pixels per side the blob `output` lost); the layers as given and 0 where
    any layer refuses. `layers` already holds its Splits; the input is not changed."""
    try:
        out: list[Layer] = []
        shrink: dict[str, int] = {}
        maps: set[str] = set()
        for layer in layers:
            if any(shrink[b] for b in layer.inputs) and layer.type in MEETING and not set(layer.inputs) <= maps:
                raise Refused("a blob that may not be a feature map meets a cropped one")
            out.extend(_layer(layer, shrink))
            if layer.type in MAPS and set(layer.inputs) <= maps:  # an Input has none: a map
                maps.update(layer.outputs)
        return out, shrink[output]
    except Refused:
        return layers, 0


def _layer(layer: Layer, shrink: dict[str, int]) -> list[Layer]:
    """The layer (and any crops it needs) rewritten; records its outputs' shrink."""
    ins = [shrink[b] for b in layer.inputs]
    kind = layer.type
    if kind == "Input":
        return _set(layer, shrink, 0)
    if kind == "MemoryData":
        raise Refused("a constant blob (it may broadcast against a map)")
    if kind in ("Convolution", "ConvolutionDepthWise"):
        return _convolution(layer, shrink, ins[0])
    if kind in MEETING:
        return _meet(layer, shrink, ins)
    if not any(ins):  # the same input as before: the same output
        return _set(layer, shrink, 0)
    if kind in POINTWISE:
        return _set(layer, shrink, ins[0])
    if kind == "PixelShuffle":
        return _set(layer, shrink, ins[0] * int(layer.params.get(0, 1)))
    if kind == "Interp":
        return _interp(layer, shrink, ins[0])
    if kind == "Crop":
        return _crop(layer, shrink, ins[0])
    raise Refused(kind)


def _set(layer: Layer, shrink: dict[str, int], value: int) -> list[Layer]:
    for b in layer.outputs:
        shrink[b] = value
    return [layer]


def _convolution(layer: Layer, shrink: dict[str, int], before: int) -> list[Layer]:
    """A stride-1 conv with equal padding p on every side loses it and p more pixels per side."""
    p = layer.params
    pads = [p.get(k, p.get(4, 0)) for k in (4, 14, 15, 16)]
    strides = (p.get(3, 1), p.get(13, p.get(3, 1)))
    if not pads[0]:
        if before and strides != (1, 1):
            raise Refused("a strided convolution of a cropped map")
        return _set(layer, shrink, before)
    if len(set(pads)) != 1 or not isinstance(pads[0], int) or pads[0] < 0 or strides != (1, 1) or p.get(18, 0):
        raise Refused("a convolution with uneven, automatic or non-zero padding, or a stride")
    params = {**p, 4: 0, 14: 0, 15: 0, 16: 0}
    layer = Layer(layer.type, layer.name, layer.inputs, layer.outputs, params, layer.weights)
    return _set(layer, shrink, before + pads[0])


def _meet(layer: Layer, shrink: dict[str, int], ins: list[int]) -> list[Layer]:
    """Inputs of one size: each one that lost less is centre-cropped to the one that lost most."""
    if len(ins) < 2 or len(set(ins)) == 1:
        return _set(layer, shrink, ins[0])
    if layer.type == "Concat" and layer.params.get(0, 0) != 0:
        raise Refused("a concatenation along a spatial axis")
    most, crops, inputs = max(ins), [], list(layer.inputs)
    for i, (blob, lost) in enumerate(zip(layer.inputs, ins)):
        if lost < most:
            d = most - lost
            inputs[i] = f"{blob}_c{d}"
            if not any(c.outputs[0] == inputs[i] for c in crops):
                crops.append(_centre_crop(blob, inputs[i], d))
    return crops + _set(Layer(layer.type, layer.name, inputs, layer.outputs, layer.params, layer.weights), shrink, most)


def _centre_crop(src: str, dst: str, d: int) -> Layer:
    """A Crop of `d` pixels off every side of a CHW blob."""
    return Layer("Crop", f"unpad_{dst}", [src], [dst], {9: [d, d], 10: [-d, -d], 11: [-2, -1]})


def _interp(layer: Layer, shrink: dict[str, int], before: int) -> list[Layer]:
    """Nearest upscaling by an integer factor of a cropped map is the crop of the upscaled one; a bicubic downscale
    by p/u of a map cropped by a multiple of u is too (the same sample positions, shifted by whole periods), but for
    the one output pixel a side whose taps the smaller map clamps: a Crop drops it."""
    kind, sh, sw = layer.params.get(0, 0), layer.params.get(1, 1.0), layer.params.get(2, 1.0)
    if sh != sw or any(k in layer.params for k in (3, 4)):
        raise Refused("an Interp to a fixed size or by unequal factors")
    if kind == 1 and float(sh) == int(sh):
        return _set(layer, shrink, before * int(sh))
    ratio = Fraction(float(sh)).limit_denominator(16)
    if kind != 3 or not 0 < ratio < 1 or abs(float(ratio) - float(sh)) > 1e-6 or before % ratio.denominator:
        raise Refused("an Interp other than nearest by an integer factor or a bicubic p/u downscale of a u-aligned crop")
    inner = f"{layer.outputs[0]}_u"
    resize = Layer(layer.type, layer.name, layer.inputs, [inner], layer.params, layer.weights)
    crop = _centre_crop(inner, layer.outputs[0], 1)
    shrink[inner] = before * ratio.numerator // ratio.denominator
    return [resize] + _set(crop, shrink, shrink[inner] + 1)


def _crop(layer: Layer, shrink: dict[str, int], before: int) -> list[Layer]:
    """A symmetric spatial crop of t >= `before` pixels crops t - before now (the ring is gone already)."""
    starts, ends, axes = (list(layer.params.get(k, [])) for k in (9, 10, 11))
    spatial = [i for i, a in enumerate(axes) if a in H_AXES + W_AXES]
    if not {axes[i] in H_AXES for i in spatial} == {True, False}:
        raise Refused("a crop of one spatial axis only")
    for i in spatial:
        t = starts[i]
        if ends[i] != -t or t < before:
            raise Refused("an uneven crop, or one smaller than the ring already dropped")
        starts[i], ends[i] = t - before, (-(t - before) if t > before else INT_MAX)
    params = {**layer.params, 9: starts, 10: ends, 11: axes}
    return _set(Layer(layer.type, layer.name, layer.inputs, layer.outputs, params, layer.weights), shrink, 0)
