"""Export a registered PyTorch module to ncnn `.param` text + `.bin` weights, with no external tool.

Covers what waifu2x-style networks are made of: Conv2d (any stride/dilation/zero padding, groups),
ConvTranspose2d, ReLU/LeakyReLU/PReLU/SELU/Sigmoid/Hardtanh/clamp, PixelShuffle, nearest upscaling by an
integer factor, bicubic upsampling (ncnn_resample.py), channel concat, constant crops (slicing), element-wise
add/mul, image-wide SE blocks (ncnn_se.py: the gate is an input blob), and weightless modules or fx-wrapped
functions that name their ncnn layer (`ncnn_layer(...)`), wired as any DAG (fx traced). Anything else raises
UnsupportedModule, so torch stays the fallback.
This file traces and wires; the layers come from ncnn_modules.py (leaf modules), ncnn_functions.py
(function calls) and ncnn_resample.py (bicubic); ncnn_write.py fuses, splits and writes the files.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from .ncnn_functions import concat_layer, function_layer
from .ncnn_layer import Layer, UnsupportedModule  # noqa: F401  (re-exported: callers import them from here)
from .ncnn_modules import module_layer
from ..capabilities import is_se_block, ncnn_layer
from .ncnn_se import SeBlob, se_blobs, se_layers
from .ncnn_unpad import unpad
from .ncnn_write import (  # noqa: F401  (re-exported: callers import them from here)
    TAG_FP16, fuse_activations, insert_splits, write_bin, write_param)

INPUT, OUTPUT = "in0", "out0"


@dataclass(frozen=True)
class NcnnModel:
    """A ready-to-load ncnn network: param text, weight bytes and the blob names to feed/extract."""

    param: str
    bin: bytes
    input_name: str = INPUT
    output_name: str = OUTPUT
    se: tuple[SeBlob, ...] = ()  # image-wide SE blocks: gates to feed, inputs to gather from (graph order)
    trim: int = 0  # output pixels per side the graph drops (ncnn_unpad): the runner puts zeros back there


class _Tracer(fx.Tracer):
    """fx's tracer, keeping modules that name their own ncnn layer (`ncnn_layer() -> (type, params)`) whole."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return ncnn_layer(m) is not None or is_se_block(m) or super().is_leaf_module(m, qualname)


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
        elif node.op == "call_module" and is_se_block(modules[node.target]):
            _image_se(layers, blob, node)
        elif node.op == "call_module":
            src = blob[node.args[0].name]
            layer = module_layer(modules[node.target], node.name, src, node.name)
            blob[node.name] = src if layer is None else node.name
            if layer is not None:
                layers.append(layer)
        elif node.op in ("call_function", "call_method"):
            resampled = [concat_layer(node, blob, module)] if node.target is torch.cat else None
            if node.target is F.interpolate and node.args and isinstance(node.args[0], fx.Node):
                from .ncnn_resample import bicubic_layers  # imported on first use (fx-heavy)

                resampled = bicubic_layers(node, blob[node.args[0].name], modules)
            layers.extend(resampled or [function_layer(node, blob)])
            blob[node.name] = node.name
        elif node.op == "output":
            if not isinstance(node.args[0], fx.Node):
                raise UnsupportedModule("the output is not a single tensor")
            _rename(layers, blob[node.args[0].name], OUTPUT)
        else:
            raise UnsupportedModule(f"graph node '{node.op}' ({node.target})")
    return layers


def _image_se(layers: list[Layer], blob: dict[str, str], node: fx.Node) -> None:
    """An SE block: its input blob renamed se{k}_in (to extract), then gate Input and multiply (ncnn_se.py)."""
    if len(node.args) != 1 or node.kwargs or not isinstance(node.args[0], fx.Node):
        raise UnsupportedModule(f"{node.name}: an SE block called with other than one tensor")
    src = blob[node.args[0].name]
    if src == INPUT:
        raise UnsupportedModule(f"{node.name}: an SE block on the network's input")
    index = sum(lay.type == "Input" for lay in layers) - 1
    features, added = se_layers(index, str(node.target), node.name)
    _rename(layers, src, features)
    for key, value in blob.items():
        if value == src:
            blob[key] = features
    layers.extend(added)
    blob[node.name] = node.name


def _rename(layers: list[Layer], old: str, new: str) -> None:
    if old == INPUT:
        raise UnsupportedModule("the network is an identity")
    for layer in layers:
        layer.inputs = [new if b == old else b for b in layer.inputs]
        layer.outputs = [new if b == old else b for b in layer.outputs]


def export_ncnn(module: nn.Module, *, weight_dtype: str = "fp32", valid: bool = False) -> NcnnModel:
    """The ncnn network for `module` (eval mode); raises UnsupportedModule for what ncnn can't express.

    valid=True: same-padded convolutions become valid ones where that is exact inside the tile's context
    (ncnn_unpad; not for image-wide SE graphs, whose gathering reads blobs at the module's sizes)."""
    layers = insert_splits(fuse_activations(trace_layers(module.eval())))
    se, trim = se_blobs(layers), 0
    if valid and not se:
        layers, trim = unpad(layers, OUTPUT)
    return NcnnModel(param=write_param(layers), bin=write_bin(layers, weight_dtype), se=se, trim=trim)
