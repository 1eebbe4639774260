"""ncnn `.param` + `.bin` → state_dict: every storage ncnn writes, mapped onto the module's weight layers in order.

Weight layers (Convolution, Deconvolution, InnerProduct, PReLU…) map one-to-one, in file order, onto the
module's Conv2d / ConvTranspose2d / Linear / PReLU layers (an InnerProduct may feed a 1x1 conv, as an SE
block's does); kinds, strides, paddings and shapes are checked. A module may also check the weightless
layers (Interp factors, Crop offsets…) with a `check_ncnn_graph(layers, where)` method.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ..capabilities import graph_check
from ..errors import WeightsError
from ..interfaces import ConvertedWeights, WeightFormat
from .conv_stack import WEIGHT_TYPES, SourceLayer, assign_layers
from .ncnn_bin import BinReader, param_int, read_layer_weights

CONVS = ("Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise")


def parse_param(path: Path) -> list[dict]:
    """Every layer of an ncnn .param file, in order: type, name, inputs, outputs and params (id → text)."""
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise WeightsError(f"'{path}' is not an ncnn .param file (first line should be the magic 7767517).")
    header = lines[1].split() if len(lines) > 1 else []
    # ASCII digits only: str.isdigit() takes '²', and int() refuses numerals over 4300 digits
    declared = int(header[0]) if len(header) == 2 and re.fullmatch(r"[0-9]{1,9}", header[0]) else -1
    body = [line for line in lines[2:] if line.strip()]
    if declared != len(body):
        raise WeightsError(
            f"'{path}' declares {declared} layers but lists {len(body)}; it is truncated or not an ncnn .param file."
        )
    layers = []
    for line in body:
        parts = line.split()
        if len(parts) < 4 or not all(re.fullmatch(r"[0-9]{1,6}", n) for n in parts[2:4]):
            raise WeightsError(f"'{path}': layer line {line.strip()[:60]!r} is malformed; the file is corrupt.")
        n_in, n_out = int(parts[2]), int(parts[3])
        params: dict[int, str] = {}
        for kv in parts[4 + n_in + n_out:]:
            key, _, value = kv.partition("=")
            if re.fullmatch(r"-?[0-9]{1,6}", key):  # ASCII: '²'.isdigit() is True, int('²') fails
                k = int(key)
                params[-23300 - k if k <= -23300 else k] = value  # array params (-233xx=n,…) keep their id xx
        layers.append({"type": parts[0], "name": parts[1], "inputs": parts[4:4 + n_in],
                       "outputs": parts[4 + n_in:4 + n_in + n_out], "params": params})
    return layers


class NcnnFormat(WeightFormat):
    """ncnn model files (waifu2x-ncnn-vulkan, realesrgan-ncnn-vulkan… and the sr-vulkan-model-* packages)."""

    name = "ncnn"
    description = "ncnn .param + .bin (fp32, fp16 or table-quantized weights): conv/deconv/fc/PReLU networks"
    version = "1"

    def convert(self, arch_id: str, module: nn.Module, paths: Sequence[Path]) -> ConvertedWeights:
        """Read the layers in order and map them onto the module's weight layers."""
        param = next((p for p in paths if p.suffix == ".param"), None)
        binf = next((p for p in paths if p.suffix == ".bin"), None)
        if param is None or binf is None:
            raise WeightsError(f"ncnn needs a .param and a .bin file, got {[str(p) for p in paths]}.")
        layers = parse_param(param)
        reader = BinReader(binf.read_bytes(), binf)
        found = [src for layer in layers for src in _source(layer, read_layer_weights(layer, reader, str(param)), param)]
        if reader.pos != len(reader.data):
            raise WeightsError(f"'{binf}' has {len(reader.data) - reader.pos} bytes left over; it does not match '{param.name}'.")
        check = graph_check(module)
        if check is not None:
            check(layers, str(param))
        types = WEIGHT_TYPES if any(isinstance(m, WEIGHT_TYPES[2:]) for m in module.modules()) else WEIGHT_TYPES[:2]
        return ConvertedWeights(state_dict=assign_layers(arch_id, module, found, str(param), types))


def _pair(p: dict[int, str], key: int, key_h: int, default: int, where: str) -> tuple[int, int] | None:
    """(h, w) of an ncnn int param whose height twin defaults to its width; None for SAME-style pads (<0)."""
    w = param_int(p, key, default, where)
    h = param_int(p, key_h, w, where)
    return None if h < 0 or w < 0 else (h, w)


def _source(layer: dict, arrays: list, param: Path) -> list[SourceLayer]:
    """The layer's arrays as SourceLayers in PyTorch layout ([] for layers that map onto no module)."""
    if not arrays:
        return []
    kind, p, name = layer["type"], layer["params"], layer["name"]
    where = f"'{param}': layer '{name}'"
    w = torch.from_numpy(arrays[0])
    b = torch.from_numpy(arrays[1]) if len(arrays) > 1 else None
    if kind == "PReLU":
        return [SourceLayer(name=name, weight=w, bias=None)]
    if kind == "InnerProduct":
        n_out = param_int(p, 0, 0, where, lo=1)
        if w.numel() % n_out:
            raise WeightsError(f"{where} has inconsistent sizes (0={n_out} 2={w.numel()}); the .param file is corrupt.")
        return [SourceLayer(name=name, weight=w.reshape(n_out, -1), bias=b)]
    if kind not in CONVS:
        raise WeightsError(f"'{param}': layer '{name}' ({kind}) has weights but maps onto no PyTorch layer zoo knows.")
    n_out = param_int(p, 0, 0, where, lo=1)
    kh, kw = _pair(p, 1, 11, 1, where) or (1, 1)
    if kh < 1 or kw < 1:
        raise WeightsError(f"{where} has kernel size {kh}x{kw} (params 1, 11); a kernel is at least 1x1. The .param "
                           "file is corrupt.")
    if w.numel() % (n_out * kh * kw):
        raise WeightsError(f"'{param}': layer '{name}' has inconsistent sizes (0={n_out} 6={w.numel()}).")
    groups = param_int(p, 7, 1, where, lo=1) if kind.endswith("DepthWise") else 1
    wt = w.reshape(n_out, w.numel() // (n_out * kh * kw), kh, kw)
    transposed = kind.startswith("Deconvolution")
    if transposed:
        if groups != 1:
            raise WeightsError(f"'{param}': layer '{name}' is a grouped deconvolution, which zoo does not convert.")
        wt = wt.transpose(0, 1).contiguous()  # ncnn keeps (out,in,kh,kw); PyTorch wants (in,out,kh,kw), no flip
    return [SourceLayer(name=name, weight=wt, bias=b, transposed=transposed,
                        stride=_pair(p, 3, 13, 1, where), padding=_pair(p, 4, 14, 0, where))]
