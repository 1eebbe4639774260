"""ncnn `.bin` reading with ncnn's own rules (ModelBinFromDataReader::load) and each layer type's weights."""
from __future__ import annotations

import re

import struct
from pathlib import Path

import numpy as np

from ..errors import WeightsError

TAG_FP16 = 0x01306B47  # fp16 values, padded to 4 bytes
TAG_INT8 = 0x000D4B38  # int8 values (quantized models: needs scales zoo does not read)
TAG_RAW_SCALED = 0x0002C056  # fp32 values ("raw data with extra scaling")
# Layers that carry no weights in the .bin (the ones these model families use, and common neighbours).
WEIGHTLESS = frozenset({
    "Input", "Split", "Concat", "Crop", "Eltwise", "BinaryOp", "UnaryOp", "Interp", "PixelShuffle", "Pooling",
    "ReLU", "Sigmoid", "Clip", "TanH", "Swish", "HardSigmoid", "Flatten", "Reshape", "Permute", "Noop", "Slice",
    "Padding", "Softmax", "Dropout", "Reduction", "Exp", "Power", "AbsVal", "ELU", "SELU", "GELU", "Mish",
})


class BinReader:
    """Sequential reader over a .bin file's bytes."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        """The next `n` bytes, or a one-line error when the file is too short."""
        if self.pos + n > len(self.data):
            raise WeightsError(f"'{self.path}' is truncated: needed {n} bytes at offset {self.pos}, file has {len(self.data)}.")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def raw(self, count: int) -> np.ndarray:
        """ncnn load(count, 1): `count` fp32 values with no tag (biases, slopes, scales)."""
        return np.frombuffer(self.take(count * 4), dtype="<f4").copy()

    def tagged(self, count: int) -> np.ndarray:
        """ncnn load(count, 0): a 4-byte storage tag, then fp16, fp32 or a 256-entry codebook + uint8 indices."""
        at = self.pos
        f = self.take(4)
        (tag,) = struct.unpack("<I", f)
        if tag == TAG_FP16:
            raw = self.take(count * 2 + (-(count * 2) % 4))
            return np.frombuffer(raw[: count * 2], dtype="<f2").astype(np.float32)
        if tag == TAG_INT8:
            raise WeightsError(f"'{self.path}': int8-quantized weights at offset {at}; zoo reads float ncnn models only "
                               "(convert the original fp32/fp16 model instead).")
        if tag == TAG_RAW_SCALED or sum(f) == 0:
            return self.raw(count)
        table = np.frombuffer(self.take(256 * 4), dtype="<f4")  # any other non-zero tag: quantized to a table
        index = np.frombuffer(self.take(count + (-count % 4)), dtype=np.uint8)[:count]
        return table[index].astype(np.float32)


INT_RE = re.compile(r"-?[0-9]{1,9}")  # an ncnn int param: ASCII digits (not '²'), no 5000-digit numerals


def param_int(params: dict[int, str], key: int, default: int, where: str, lo: int | None = None) -> int:
    """An integer ncnn param (or `default` when absent), at least `lo`; WeightsError naming it otherwise."""
    raw = params.get(key)
    if raw is None:
        return default
    if not INT_RE.fullmatch(raw):
        raise WeightsError(f"{where}: ncnn param {key}={raw!r:.40} should be an integer of at most 9 digits; the .param "
                           "file is corrupt.")
    value = int(raw)
    if lo is not None and value < lo:
        raise WeightsError(f"{where}: ncnn param {key}={value} must be at least {lo}; the .param file is corrupt.")
    return value


_int = param_int


def read_layer_weights(layer: dict, reader: BinReader, where: str) -> list[np.ndarray]:
    """The arrays ncnn loads for this layer, in its order (weights first, then bias/others); [] if none."""
    kind, p = layer["type"], layer["params"]
    here = f"{where}: layer '{layer['name']}'"
    if kind in ("Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise", "InnerProduct"):
        dynamic = {"Convolution": 19, "ConvolutionDepthWise": 19, "Deconvolution": 28, "DeconvolutionDepthWise": 28}
        if ("Deconvolution" not in kind and _int(p, 8, 0, here)) or (kind in dynamic and _int(p, dynamic[kind], 0, here)):
            raise WeightsError(f"{here} is int8-quantized or takes dynamic weights; zoo reads float ncnn models only.")
        n_out, count = _int(p, 0, 0, here), _int(p, 2 if kind == "InnerProduct" else 6, 0, here)
        if n_out <= 0 or count <= 0 or count % n_out:
            raise WeightsError(f"{here} has inconsistent sizes (num_output {n_out}, weight count {count}); corrupt file.")
        out = [reader.tagged(count)]
        return out + ([reader.raw(n_out)] if _int(p, 1 if kind == "InnerProduct" else 5, 0, here) else [])
    if kind == "PReLU":
        return [reader.raw(max(1, _int(p, 0, 0, here)))]
    if kind == "Scale":
        n = _int(p, 0, 0, here)
        if n == -233:  # the scale comes from a second input blob (an SE block's gate)
            return []
        if n < 1:
            raise WeightsError(f"{here}: ncnn param 0={n} (scale count) must be at least 1; the .param file is corrupt.")
        return [reader.raw(n)] + ([reader.raw(n)] if _int(p, 1, 0, here) else [])
    if kind == "BatchNorm":
        n = _int(p, 0, 0, here, lo=1)
        return [reader.raw(n) for _ in range(4)]  # slope, mean, var, bias
    if kind in WEIGHTLESS:
        return []
    raise WeightsError(f"{here} has type '{kind}', which zoo's ncnn reader does not know; the model cannot be converted.")
