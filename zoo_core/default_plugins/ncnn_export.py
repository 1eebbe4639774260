"""Export a registered PyTorch module to ncnn `.param` text + `.bin` weights, with no external tool.

Covers what waifu2x-style networks are made of: Conv2d (any stride/dilation/zero padding, groups),
ConvTranspose2d, ReLU/LeakyReLU/PReLU/SELU/Sigmoid/Hardtanh/clamp, PixelShuffle, nearest upscaling by an
integer factor, bicubic upsampling (ncnn_resample.py), channel concat, element-wise add/mul and weightless
modules that name their ncnn layer (`ncnn_layer()`),
wired as any DAG (fx traced). Anything else raises UnsupportedModule, so torch stays the fallback.
"""
from __future__ import annotations

import operator
import struct
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import ZooError
from .ncnn_layer import Layer, UnsupportedModule  # noqa: F401  (re-exported: callers import them from here)

MAGIC = 7767517
TAG_FP16 = 0x01306B47
ACTIVATIONS = {"ReLU": 1, "Clip": 3, "Sigmoid": 4}  # fusable into ncnn convolutions (leaky ReLU: 2)
INPUT, OUTPUT = "in0", "out0"


@dataclass(frozen=True)
class NcnnModel:
    """A ready-to-load ncnn network: param text, weight bytes and the blob names to feed/extract."""

    param: str
    bin: bytes
    input_name: str = INPUT
    output_name: str = OUTPUT


def _pair(v: object) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))  # type: ignore[index]


def _conv(m: nn.Conv2d, name: str, src: str, dst: str) -> Layer:
    if m.padding_mode != "zeros":
        raise UnsupportedModule(f"{name}: padding_mode '{m.padding_mode}' (only zeros)")
    if isinstance(m.padding, str):
        raise UnsupportedModule(f"{name}: string padding '{m.padding}'")
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = map(_pair, (m.kernel_size, m.stride, m.dilation, m.padding))
    p: dict[int, object] = {0: m.out_channels, 1: kw, 11: kh, 2: dw, 12: dh, 3: sw, 13: sh,
                            4: pw, 15: pw, 14: ph, 16: ph, 5: int(m.bias is not None), 6: m.weight.numel()}
    kind = "Convolution"
    if m.groups != 1:
        kind, p[7] = "ConvolutionDepthWise", m.groups  # ncnn's layer for any grouped convolution
    layer = Layer(kind, name, [src], [dst], p, [(m.weight.detach().float().numpy(), True)])
    if m.bias is not None:
        layer.weights.append((m.bias.detach().float().numpy(), False))
    return layer


def _deconv(m: nn.ConvTranspose2d, name: str, src: str, dst: str) -> Layer:
    if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise UnsupportedModule(f"{name}: grouped/non-zero-padded ConvTranspose2d")
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow) = map(
        _pair, (m.kernel_size, m.stride, m.dilation, m.padding, m.output_padding))
    p: dict[int, object] = {0: m.out_channels, 1: kw, 11: kh, 2: dw, 12: dh, 3: sw, 13: sh, 4: pw, 15: pw,
                            14: ph, 16: ph, 18: ow, 19: oh, 5: int(m.bias is not None), 6: m.weight.numel()}
    # PyTorch keeps (in, out, kh, kw); ncnn wants (out, in, kh, kw), no spatial flip.
    w = m.weight.detach().float().transpose(0, 1).contiguous().numpy()
    layer = Layer("Deconvolution", name, [src], [dst], p, [(w, True)])
    if m.bias is not None:
        layer.weights.append((m.bias.detach().float().numpy(), False))
    return layer


def _unary(kind: str, params: dict[int, object]):
    return lambda name, src, dst: Layer(kind, name, [src], [dst], dict(params))


def _module_layer(m: nn.Module, name: str, src: str, dst: str) -> Layer | None:
    """The layer for a leaf module; None for identities."""
    if isinstance(m, nn.Conv2d):
        return _conv(m, name, src, dst)
    if isinstance(m, nn.ConvTranspose2d):
        return _deconv(m, name, src, dst)
    if isinstance(m, (nn.Identity, nn.Dropout)):
        return None
    if callable(getattr(m, "ncnn_layer", None)):  # a plugin's weightless module that names its ncnn layer
        kind, params = m.ncnn_layer()
        return Layer(kind, name, [src], [dst], dict(params))
    if isinstance(m, nn.PReLU):  # per-channel (or one shared) slope, stored untagged like ncnn's own files
        return Layer("PReLU", name, [src], [dst], {0: m.num_parameters}, [(m.weight.detach().cpu().numpy(), False)])
    simple = {
        nn.ReLU: lambda: _unary("ReLU", {}),
        nn.LeakyReLU: lambda: _unary("ReLU", {0: float(m.negative_slope)}),  # type: ignore[attr-defined]
        nn.Sigmoid: lambda: _unary("Sigmoid", {}),
        nn.SELU: lambda: _unary("SELU", {0: 1.6732632423543772, 1: 1.0507009873554805}),
        nn.Hardtanh: lambda: _unary("Clip", {0: float(m.min_val), 1: float(m.max_val)}),  # type: ignore[attr-defined]
        nn.PixelShuffle: lambda: _unary("PixelShuffle", {0: int(m.upscale_factor)}),  # type: ignore[attr-defined]
    }
    make = simple.get(type(m))
    if make is None:
        raise UnsupportedModule(f"{name}: module {type(m).__name__}")
    return make()(name, src, dst)


def _clamp_params(node: fx.Node) -> dict[int, object]:
    args = list(node.args[1:]) + [None] * 2
    lo = node.kwargs.get("min", args[0])
    hi = node.kwargs.get("max", args[1])
    if not all(isinstance(v, (int, float)) for v in (lo, hi)):
        raise UnsupportedModule(f"{node.name}: clamp needs both numeric min and max")
    return {0: float(lo), 1: float(hi)}


BINARY = {operator.add: 0, torch.add: 0, operator.mul: 2, torch.mul: 2, operator.sub: 1, torch.sub: 1}
ELEMENTWISE = {F.relu: ("ReLU", {}), torch.relu: ("ReLU", {}), torch.sigmoid: ("Sigmoid", {}),
               F.sigmoid: ("Sigmoid", {}), F.selu: ("SELU", {0: 1.6732632423543772, 1: 1.0507009873554805})}


def _function_layer(node: fx.Node, blob: dict[str, str]) -> Layer:
    """The layer for a call_function / call_method node."""
    name, dst, target = node.name, node.name, node.target
    tensors = [blob[a.name] for a in node.args if isinstance(a, fx.Node)]
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


def _nearest(node: fx.Node, name: str, src: str, dst: str) -> Layer:
    """F.interpolate(x, scale_factor=k, mode='nearest') with an integer k: ncnn Interp type 1."""
    kw = {k: v for k, v in node.kwargs.items() if v not in (None, False)}  # fx records every default
    factor, mode = kw.pop("scale_factor", None), kw.pop("mode", "nearest")
    if len(node.args) > 1 or kw or mode != "nearest" or not isinstance(factor, int) or factor < 1:
        raise UnsupportedModule(f"{name}: interpolate other than nearest by an integer factor")
    return Layer("Interp", name, [src], [dst], {0: 1, 1: float(factor), 2: float(factor)})


class _Tracer(fx.Tracer):
    """fx's tracer, keeping modules that name their own ncnn layer (`ncnn_layer() -> (type, params)`) whole."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return callable(getattr(m, "ncnn_layer", None)) or super().is_leaf_module(m, qualname)


def _concat(node: fx.Node, blob: dict[str, str], module: nn.Module) -> Layer:
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


def _channels(graph: fx.Graph, module: nn.Module) -> dict[str, int]:
    """Channel count of every 4-D tensor in the graph, from one small RGB forward pass (cached on the graph)."""
    if not hasattr(graph, "_zoo_channels"):
        from torch.fx.passes.shape_prop import ShapeProp

        try:
            with torch.no_grad():
                ShapeProp(fx.GraphModule(module, graph)).propagate(torch.zeros(1, 3, 16, 16))
        except Exception as err:  # a net that cannot take a 16x16 RGB input: its shapes stay unknown
            raise UnsupportedModule(f"shapes unknown ({type(err).__name__}: {err})") from None
        metas = [(n.name, getattr(n.meta.get("tensor_meta"), "shape", ())) for n in graph.nodes]
        graph._zoo_channels = {name: int(shape[1]) for name, shape in metas if len(shape) == 4}  # type: ignore[attr-defined]
    return graph._zoo_channels  # type: ignore[attr-defined]


def trace_layers(module: nn.Module) -> list[Layer]:
    """fx-trace `module` into ncnn layers (before Split insertion and activation fusion)."""
    try:
        graph = _Tracer().trace(module)
    except Exception as err:  # fx refuses data-dependent control flow: that is "unsupported" here
        raise UnsupportedModule(f"not traceable by torch.fx ({type(err).__name__}: {err})") from None
    modules = dict(module.named_modules())
    layers: list[Layer] = []
    blob: dict[str, str] = {}
    for node in graph.nodes:
        if node.op == "placeholder":
            if blob:
                raise UnsupportedModule("more than one input")
            blob[node.name] = INPUT
            layers.append(Layer("Input", "input", [], [INPUT]))
        elif node.op == "call_module":
            src = blob[node.args[0].name]
            layer = _module_layer(modules[node.target], node.name, src, node.name)
            blob[node.name] = src if layer is None else node.name
            if layer is not None:
                layers.append(layer)
        elif node.op in ("call_function", "call_method"):
            resampled = [_concat(node, blob, module)] if node.target is torch.cat else None
            if node.target is F.interpolate and node.args and isinstance(node.args[0], fx.Node):
                from .ncnn_resample import bicubic_layers  # imported on first use (fx-heavy)

                resampled = bicubic_layers(node, blob[node.args[0].name], modules)
            layers.extend(resampled or [_function_layer(node, blob)])
            blob[node.name] = node.name
        elif node.op == "output":
            if not isinstance(node.args[0], fx.Node):
                raise UnsupportedModule("the output is not a single tensor")
            _rename(layers, blob[node.args[0].name], OUTPUT)
        else:
            raise UnsupportedModule(f"graph node '{node.op}' ({node.target})")
    return layers


def _rename(layers: list[Layer], old: str, new: str) -> None:
    if old == INPUT:
        raise UnsupportedModule("the network is an identity")
    for layer in layers:
        layer.inputs = [new if b == old else b for b in layer.inputs]
        layer.outputs = [new if b == old else b for b in layer.outputs]


def fuse_activations(layers: list[Layer]) -> list[Layer]:
    """Fold a ReLU/LeakyReLU/Clip/Sigmoid that is a convolution's only consumer into that convolution."""
    consumers: dict[str, int] = {}
    for layer in layers:
        for b in layer.inputs:
            consumers[b] = consumers.get(b, 0) + 1
    producer = {layer.outputs[0]: layer for layer in layers if layer.outputs}
    out: list[Layer] = []
    for layer in layers:
        conv = producer.get(layer.inputs[0]) if layer.inputs else None
        fusable = (layer.type in ACTIVATIONS and conv is not None and 9 not in conv.params
                   and conv.type in ("Convolution", "ConvolutionDepthWise", "Deconvolution")
                   and consumers[layer.inputs[0]] == 1)
        if not fusable:
            out.append(layer)
            continue
        conv.params[9] = 2 if layer.type == "ReLU" and layer.params else ACTIVATIONS[layer.type]
        if layer.params:  # leaky slope, or clip min/max
            conv.params[10] = [layer.params[k] for k in sorted(layer.params)]
        conv.outputs = layer.outputs
        producer[layer.outputs[0]] = conv
    return out


def insert_splits(layers: list[Layer]) -> list[Layer]:
    """ncnn needs an explicit Split wherever a blob feeds more than one layer."""
    users: dict[str, list[Layer]] = {}
    for layer in layers:
        for b in layer.inputs:
            users.setdefault(b, []).append(layer)
    out: list[Layer] = []
    for layer in layers:
        out.append(layer)
        for b in layer.outputs:
            readers = users.get(b, [])
            if len(readers) < 2:
                continue
            names = [f"{b}_s{i}" for i in range(len(readers))]
            out.append(Layer("Split", f"split_{b}", [b], names))
            for reader, new in zip(readers, names):
                reader.inputs[reader.inputs.index(b)] = new
    return out


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:e}"
    if isinstance(v, (list, tuple)):
        return ",".join([str(len(v))] + [_fmt(x) for x in v])
    return str(int(v))  # type: ignore[call-overload]


def write_param(layers: list[Layer]) -> str:
    """The .param text (magic, counts, one line per layer; array params use id -23300-k)."""
    blobs = {b for layer in layers for b in layer.outputs}
    lines = [str(MAGIC), f"{len(layers)} {len(blobs)}"]
    for layer in layers:
        params = " ".join(
            f"{-23300 - k if isinstance(v, list) else k}={_fmt(v)}" for k, v in sorted(layer.params.items()))
        lines.append(f"{layer.type:<24} {layer.name:<24} {len(layer.inputs)} {len(layer.outputs)} "
                     + " ".join(layer.inputs + layer.outputs) + (" " + params if params else ""))
    return "\n".join(lines) + "\n"


def write_bin(layers: list[Layer], weight_dtype: str = "fp32") -> bytes:
    """Weights in layer order: tagged arrays (fp32 tag 0, or fp16 tag + 4-byte padding), raw fp32 biases."""
    if weight_dtype not in ("fp32", "fp16"):
        raise ZooError(f"ncnn weight storage must be fp32 or fp16, got '{weight_dtype}'.")
    chunks: list[bytes] = []
    for layer in layers:
        for arr, tagged in layer.weights:
            flat = np.ascontiguousarray(arr, dtype=np.float32).ravel()
            if not tagged:
                chunks.append(flat.astype("<f4").tobytes())
            elif weight_dtype == "fp16":
                raw = flat.astype("<f2").tobytes()
                chunks += [struct.pack("<I", TAG_FP16), raw, b"\0" * (-len(raw) % 4)]
            else:
                chunks += [struct.pack("<I", 0), flat.astype("<f4").tobytes()]
    return b"".join(chunks)


def export_ncnn(module: nn.Module, *, weight_dtype: str = "fp32") -> NcnnModel:
    """The ncnn network for `module` (eval mode); raises UnsupportedModule for what ncnn can't express."""
    layers = insert_splits(fuse_activations(trace_layers(module.eval())))
    return NcnnModel(param=write_param(layers), bin=write_bin(layers, weight_dtype))
