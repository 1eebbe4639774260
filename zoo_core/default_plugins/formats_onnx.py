"""ONNX (Conv / ConvTranspose nodes and their initializers) → state_dict of a plain conv stack."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError
from .conv_stack import OneFileFormat, SourceLayer

CONV_OPS = {"Conv": False, "ConvTranspose": True}


def _onnx() -> Any:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise WeightsError(
            "The onnx format needs the 'onnx' package, which is not installed. Fix: pip install 'zoo-core[onnx]'."
        ) from None
    return onnx, numpy_helper


def _load(path: Path) -> Any:
    onnx, _ = _onnx()
    try:
        # External tensor data (if any) is looked up next to the file, as onnx does.
        return onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError and friends: all mean "not a readable ONNX file"
        raise WeightsError(f"'{path}' is not a readable ONNX model ({type(exc).__name__}); it is truncated "
                           "or not an ONNX file.") from None


def _attrs(node: Any) -> dict[str, Any]:
    onnx, _ = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _ints(attrs: dict[str, Any], name: str, default: list[int], count: int, lo: int, where: str) -> list[int]:
    """An attribute that must be `count` integers of at least `lo` (strides, pads, dilations)."""
    value = attrs.get(name, default)
    ok = isinstance(value, (list, tuple)) and len(value) == count
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= 1 << 16 for v in value):
        raise WeightsError(f"{where}: attribute '{name}' must be {count} integers from {lo}, got {value!r:.60}. The "
                           "file is corrupt or not a conv network zoo converts.")
    return list(value)


def _int_attr(attrs: dict[str, Any], name: str, default: int, where: str) -> int:
    value = attrs.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise WeightsError(f"{where}: attribute '{name}' must be an integer, got {value!r:.60}. The file is corrupt.")
    return value


def _pads(attrs: dict[str, Any], where: str) -> tuple[int, int] | None:
    pads = _ints(attrs, "pads", [0, 0, 0, 0], 4, 0, where)
    auto = attrs.get("auto_pad", b"NOTSET")
    if auto not in (b"NOTSET", b"VALID"):
        return None  # SAME_* pads depend on the input size; the weight shapes are still checked
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
        raise WeightsError(f"{where} has asymmetric pads {pads}; no zoo architecture uses those.")
    return (int(pads[0]), int(pads[1]))


FLOAT_TYPES = {1, 10, 11, 16}  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


def _array(init: Any, where: str) -> torch.Tensor:
    """An initializer as a float tensor; a non-float one, or dimensions without their data, is refused."""
    _, numpy_helper = _onnx()
    if init.data_type not in FLOAT_TYPES:
        raise WeightsError(f"{where}: initializer '{init.name}' holds data of type {init.data_type}, not floating-point "
                           "weights. The file is corrupt or not a conv network zoo converts.")
    try:
        return torch.from_numpy(numpy_helper.to_array(init).copy()).float()
    except Exception as exc:  # onnx's reader: a size that does not match the dims, missing external data…
        raise WeightsError(f"{where}: initializer '{init.name}' cannot be read ({type(exc).__name__}: "
                           f"{str(exc)[:80]}); the file is corrupt.") from None


def _read_node(index: int, node: Any, inits: dict[str, Any], path: Path) -> SourceLayer:
    label = node.name or (node.output[0] if node.output else f"#{index}")
    where = f"'{path}' node '{label}' ({node.op_type})"
    if not node.output:
        raise WeightsError(f"{where} has no outputs; the graph is malformed (truncated or badly edited).")
    names = list(node.input)
    if len(names) < 2 or names[1] not in inits:
        raise WeightsError(f"{where}: its weight is not an initializer; only constant weights can be converted.")
    attrs = _attrs(node)
    if _int_attr(attrs, "group", 1, where) != 1 or any(d != 1 for d in _ints(attrs, "dilations", [1, 1], 2, 1, where)):
        raise WeightsError(f"{where} uses groups or dilation; no zoo architecture does.")
    weight = _array(inits[names[1]], where)
    bias = None
    if len(names) > 2 and names[2]:
        if names[2] not in inits:
            raise WeightsError(f"{where}: its bias is not an initializer.")
        bias = _array(inits[names[2]], where)
    strides = _ints(attrs, "strides", [1, 1], 2, 1, where)
    return SourceLayer(
        name=label, weight=weight, bias=bias,
        transposed=CONV_OPS[node.op_type], stride=(strides[0], strides[1]), padding=_pads(attrs, where),
    )


class OnnxFormat(OneFileFormat):
    """ONNX models whose Conv/ConvTranspose weights are initializers (e.g. waifu2x's opset-6 exports)."""

    name = "onnx"
    description = "ONNX Conv/ConvTranspose initializers, fp32 or fp16 (needs the 'onnx' package)"
    version = "1"

    def read(self, path: Path) -> tuple[list[SourceLayer], dict[str, str]]:
        """The graph's conv nodes in order (already PyTorch layout); the opsets are recorded."""
        model = _load(path)
        inits = {t.name: t for t in model.graph.initializer}
        found = [_read_node(i, n, inits, path) for i, n in enumerate(model.graph.node) if n.op_type in CONV_OPS]
        opset = ",".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
        return found, {"source_onnx_opset": opset}
