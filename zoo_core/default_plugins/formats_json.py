"""waifu2x JSON (the Lua exporter's format: one object per conv layer) → state_dict of a plain conv stack."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import WeightsError
from .conv_stack import OneFileFormat, SourceLayer

CONV_CLASSES = {
    "nn.SpatialConvolutionMM": False,
    "nn.SpatialConvolution": False,
    "cudnn.SpatialConvolution": False,
    "nn.SpatialFullConvolution": True,
    "cudnn.SpatialFullConvolution": True,
}
REQUIRED = ("class_name", "kW", "kH", "nInputPlane", "nOutputPlane", "weight")


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and int() of a numeral over 4300 digits
        raise WeightsError(f"'{path}' is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc}); "
                           "it is truncated or not a waifu2x model export.") from None
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise WeightsError(f"'{path}' is not a waifu2x JSON export (expected a list of layer objects).")
    return data


def _tensor(value: Any, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """Nested or flat lists of numbers → float32 tensor of `shape`, refusing a wrong element count."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise WeightsError(f"{what} is not a (nested) list of numbers.") from None
    if arr.size != int(np.prod(shape)):
        raise WeightsError(f"{what} has {arr.size} values, expected {int(np.prod(shape))} for shape {shape}.")
    # float64 → float32: the exporter printed float32 values, so this round-trips them exactly.
    return torch.from_numpy(arr.reshape(shape).astype(np.float32))


def _int_field(layer: dict[str, Any], key: str, default: int, where: str, lo: int = 1, hi: int = 1 << 16) -> int:
    """An integer field from `lo` to `hi` (a size, a stride, a padding)."""
    value = layer.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise WeightsError(f"{where}: field '{key}' must be an integer from {lo} to {hi}, got {value!r:.40}. The file "
                           "is corrupt or not a waifu2x JSON export.")
    return value


def _read_layer(i: int, layer: dict[str, Any], path: Path) -> SourceLayer:
    where = f"'{path}' layer {i}"
    missing = [k for k in REQUIRED if k not in layer]
    if missing:
        raise WeightsError(f"{where} lacks {', '.join(missing)}; it is not a waifu2x JSON export.")
    cls = layer["class_name"]
    if not isinstance(cls, str) or cls not in CONV_CLASSES:
        raise WeightsError(f"{where} has class_name {cls!r:.60}; supported: {', '.join(CONV_CLASSES)}.")
    transposed = CONV_CLASSES[cls]
    kw, kh = _int_field(layer, "kW", 0, where), _int_field(layer, "kH", 0, where)
    n_in, n_out = _int_field(layer, "nInputPlane", 0, where), _int_field(layer, "nOutputPlane", 0, where)
    # Torch7 conv weights are [out][in][kh][kw]; SpatialFullConvolution's are [in][out][kh][kw], as in PyTorch.
    shape = (n_in, n_out, kh, kw) if transposed else (n_out, n_in, kh, kw)
    weight = _tensor(layer["weight"], shape, f"{where} weight")
    bias = _tensor(layer["bias"], (n_out,), f"{where} bias") if layer.get("bias") is not None else None
    stride = (_int_field(layer, "dH", 1, where), _int_field(layer, "dW", 1, where))
    padding = (_int_field(layer, "padH", 0, where, lo=0), _int_field(layer, "padW", 0, where, lo=0))
    return SourceLayer(name=f"{i}:{cls}", weight=weight, bias=bias, transposed=transposed, stride=stride, padding=padding)


class Waifu2xJsonFormat(OneFileFormat):
    """The JSON files of nagadomi/waifu2x (models/*/*.json, written by tools/export_model.lua)."""

    name = "json"
    description = "waifu2x JSON export (Lua exporter: one object per conv/deconv layer)"
    version = "1"

    def read(self, path: Path) -> tuple[list[SourceLayer], dict[str, str]]:
        """Each layer object in order; the first one's model_config, if any, is recorded."""
        layers = _load(path)
        found = [_read_layer(i, layer, path) for i, layer in enumerate(layers)]
        config = layers[0].get("model_config")
        return found, ({"source_model_config": json.dumps(config, sort_keys=True)} if isinstance(config, dict) else {})
