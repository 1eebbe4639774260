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


def _pads(attrs: dict[str, Any], where: str) -> tuple[int, int] | None:
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    auto = attrs.get("auto_pad", b"NOTSET")
    if auto not in (b"NOTSET", b"VALID"):
        return None  # SAME_* pads depend on the input size; the weight shapes are still checked
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
        raise WeightsError(f"{where} has asymmetric pads {pads}; no zoo architecture uses those.")
    return (int(pads[0]), int(pads[1]))


def _read_node(node: Any, inits: dict[str, Any], path: Path) -> SourceLayer:
    _, numpy_helper = _onnx()
    where = f"'{path}' node '{node.name or node.output[0]}' ({node.op_type})"
    names = list(node.input)
    if len(names) < 2 or names[1] not in inits:
        raise WeightsError(f"{where}: its weight is not an initializer; only constant weights can be converted.")
    attrs = _attrs(node)
    if int(attrs.get("group", 1)) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise WeightsError(f"{where} uses groups or dilation; no zoo architecture does.")
    weight = torch.from_numpy(numpy_helper.to_array(inits[names[1]]).copy())
    bias = None
    if len(names) > 2 and names[2]:
        if names[2] not in inits:
            raise WeightsError(f"{where}: its bias is not an initializer.")
        bias = torch.from_numpy(numpy_helper.to_array(inits[names[2]]).copy())
    strides = attrs.get("strides", [1, 1])
    return SourceLayer(
        name=node.name or node.output[0], weight=weight.float(), bias=None if bias is None else bias.float(),
        transposed=CONV_OPS[node.op_type], stride=(int(strides[0]), int(strides[1])), padding=_pads(attrs, where),
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
        found = [_read_node(n, inits, path) for n in model.graph.node if n.op_type in CONV_OPS]
        opset = ",".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
        return found, {"source_onnx_opset": opset}
