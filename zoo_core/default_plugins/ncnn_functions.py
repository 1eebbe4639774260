"""ncnn layers for a traced network's function and method calls: arithmetic, clamp, activations, nearest, concat,
constant crops (slicing), PixelShuffle and plugins' fx-wrapped functions that name their ncnn layer."""
from __future__ import annotations

import contextlib
import io
import operator

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..capabilities import ncnn_layer
from .ncnn_layer import Layer, UnsupportedModule


def _clamp_params(node: fx.Node) -> dict[int, object]:
    args = list(node.args[1:]) + [None] * 2
    lo = node.kwargs.get("min", args[0])
    hi = node.kwargs.get("max", args[1])
    if not all(isinstance(v, (int, float)) for v in (lo, hi)):
        raise UnsupportedModule(f"{node.name}: clamp needs both numeric min and max")
    return {0: float(lo), 1: float(hi)}


INT_MAX = 2**31 - 1  # ncnn Crop's "to the end"
BINARY = {operator.add: 0, torch.add: 0, operator.mul: 2, torch.mul: 2, operator.sub: 1, torch.sub: 1}
ELEMENTWISE = {F.relu: ("ReLU", {}), torch.relu: ("ReLU", {}), torch.sigmoid: ("Sigmoid", {}),
               F.sigmoid: ("Sigmoid", {}), F.selu: ("SELU", {0: 1.6732632423543772, 1: 1.0507009873554805})}


def function_layer(node: fx.Node, blob: dict[str, str]) -> Layer:
    """The layer for a call_function / call_method node."""
    name, dst, target = node.name, node.name, node.target
    tensors = [blob[a.name] for a in node.args if isinstance(a, fx.Node)]
    names_layer = ncnn_layer(target)
    if names_layer is not None:  # a plugin's fx-wrapped function: (type, params) from its constant arguments
        kind, params = names_layer(*[a for a in node.args if not isinstance(a, fx.Node)], **node.kwargs)
        return Layer(kind, name, tensors, [dst], dict(params))
    if target is operator.getitem and len(tensors) == 1:
        return _crop(node, name, tensors[0], dst)
    if target in (F.pixel_shuffle, torch.pixel_shuffle) and len(tensors) == 1 and isinstance(node.args[1], int):
        return Layer("PixelShuffle", name, tensors, [dst], {0: int(node.args[1])})
    if target in BINARY or target in ("add", "mul", "sub"):
        op = BINARY.get(target, {"add": 0, "sub": 1, "mul": 2}.get(target))  # type: ignore[arg-type]
        if node.kwargs or len(node.args) != 2:
            raise UnsupportedModule(f"{name}: {target} with extra arguments")
        if len(tensors) == 2:
            return Layer("BinaryOp", name, tensors, [dst], {0: op})
        scalar = next(a for a in node.args if not isinstance(a, fx.Node))
        if not isinstance(scalar, (int, float)) or (op == 1 and not isinstance(node.args[0], fx.Node)):
            raise UnsupportedModule(f"{name}: {target} with a non-scalar constant")
        return Layer("BinaryOp", name, tensors, [dst], {0: op, 1: 1, 2: float(scalar)})
    if target in (torch.clamp, torch.clip, "clamp", "clip", "clamp_", "clip_"):
        return Layer("Clip", name, tensors[:1], [dst], _clamp_params(node))
    kwargs = {k: v for k, v in node.kwargs.items() if k != "inplace"}
    if target in ELEMENTWISE and len(tensors) == 1 and not kwargs:
        kind, params = ELEMENTWISE[target]
        return Layer(kind, name, tensors, [dst], dict(params))
    if target is F.interpolate and len(tensors) == 1:
        return _nearest(node, name, tensors[0], dst)
    if target is F.leaky_relu and len(tensors) == 1:
        slope = kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
        return Layer("ReLU", name, tensors, [dst], {0: float(slope)})  # type: ignore[arg-type]
    raise UnsupportedModule(f"{name}: operation {getattr(target, '__name__', target)}")


def _crop(node: fx.Node, name: str, src: str, dst: str) -> Layer:
    """x[..., a:b, c:d] or x[:, :, a:b] with constant bounds and no step: ncnn Crop by starts/ends/axes."""
    index = node.args[1] if isinstance(node.args[1], tuple) else (node.args[1],)
    if index and index[0] is Ellipsis:  # the last dims: NCHW -1 (W), -2 (H), -3 (C) are ncnn's axes -1..-3
        pairs, batch = list(zip(range(-len(index) + 1, 0), index[1:])), -4
    else:  # NCHW dims 0.. : ncnn has no batch axis, so dim d is ncnn axis d - 1
        pairs, batch = [(d - 1, sl) for d, sl in enumerate(index)], -1
    starts, ends, axes = [], [], []
    for axis, sl in pairs:
        if not isinstance(sl, slice) or sl.step not in (None, 1) or not all(
                isinstance(v, int) or v is None for v in (sl.start, sl.stop)):
            raise UnsupportedModule(f"{name}: indexing other than constant slices without a step (after a leading ...)")
        if sl.start in (None, 0) and sl.stop is None:
            continue
        if axis == batch or axis < -4:
            raise UnsupportedModule(f"{name}: slicing the batch axis")
        starts.append(sl.start or 0)
        ends.append(INT_MAX if sl.stop is None else sl.stop)
        axes.append(axis)
    return Layer("Crop", name, [src], [dst], {9: starts, 10: ends, 11: axes})


def _nearest(node: fx.Node, name: str, src: str, dst: str) -> Layer:
    """F.interpolate(x, scale_factor=k, mode='nearest') with an integer k: ncnn Interp type 1."""
    kw = {k: v for k, v in node.kwargs.items() if v not in (None, False)}  # fx records every default
    factor, mode = kw.pop("scale_factor", None), kw.pop("mode", "nearest")
    if len(node.args) > 1 or kw or mode != "nearest" or not isinstance(factor, int) or factor < 1:
        raise UnsupportedModule(f"{name}: interpolate other than nearest by an integer factor")
    return Layer("Interp", name, [src], [dst], {0: 1, 1: float(factor), 2: float(factor)})


def concat_layer(node: fx.Node, blob: dict[str, str], module: nn.Module) -> Layer:
    """torch.cat([a, b, ...], dim=1) of NCHW tensors: ncnn Concat along its channel axis (0, no batch axis)."""
    parts = node.args[0] if node.args else node.kwargs.get("tensors")
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    if not isinstance(parts, (list, tuple)) or not all(isinstance(a, fx.Node) for a in parts) or dim not in (1, -3):
        raise UnsupportedModule(f"{node.name}: cat other than of tensors along the channel dimension")
    channels = _channels(node.graph, module)
    # ncnn (x86, 1.0.2026) concatenates an unpacked part (e.g. 3 RGB channels) with packed ones wrongly:
    # measured up to 0.35 off for 3 + 4 channels, exact when every part is a multiple of 4
    if any(channels.get(a.name, 1) % 4 for a in parts):
        raise UnsupportedModule(f"{node.name}: cat of a part whose channel count is not a multiple of 4")
    return Layer("Concat", node.name, [blob[a.name] for a in parts], [node.name], {0: 0})


def _propagate(gm: fx.GraphModule) -> None:
    """Record every node's shape: one real 16x16 RGB pass, else a 1024x1024 one on fake tensors (no compute)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    try:  # ShapeProp prints a failing node's traceback itself: kept off the user's terminal
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(torch.zeros(1, 3, 16, 16))
        return
    except Exception:  # e.g. a net that crops its input by more than 8 px per side (its offset): try larger
        pass
    try:
        with torch.no_grad():
            ShapeProp(gm, fake_mode=FakeTensorMode(allow_non_fake_inputs=True)).propagate(torch.zeros(1, 3, 1024, 1024))
    except Exception as err:  # a net that cannot take an RGB input: its shapes stay unknown
        raise UnsupportedModule(f"shapes unknown ({type(err).__name__}: {err})") from None


def _channels(graph: fx.Graph, module: nn.Module) -> dict[str, int]:
    """Channel count of every 4-D tensor in the graph, from one small RGB forward pass (cached on the graph)."""
    if not hasattr(graph, "_zoo_channels"):
        _propagate(fx.GraphModule(module, graph))
        metas = [(n.name, getattr(n.meta.get("tensor_meta"), "shape", ())) for n in graph.nodes]
        graph._zoo_channels = {name: int(shape[1]) for name, shape in metas if len(shape) == 4}  # type: ignore[attr-defined]
    return graph._zoo_channels  # type: ignore[attr-defined]
