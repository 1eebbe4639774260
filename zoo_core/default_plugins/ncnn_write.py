"""ncnn layer list → files: fuse activations into convolutions, insert Splits, write the .param text and .bin."""
from __future__ import annotations

import struct

import numpy as np

from ..errors import ZooError
from .ncnn_layer import Layer

MAGIC = 7767517
TAG_FP16 = 0x01306B47
ACTIVATIONS = {"ReLU": 1, "Clip": 3, "Sigmoid": 4}  # fusable into ncnn convolutions (leaky ReLU: 2)


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
