"""Safetensors I/O: a deterministic writer (same tensors → same bytes) and a safe, checked reader."""
from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ..errors import WeightsError

if TYPE_CHECKING:  # torch is imported by the functions that handle tensors, so hashing files stays light
    import torch
    from torch import nn

DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32"}
PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".pkl", ".bin")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, then rename: never a half-written file (see zoo_core.atomic)."""
    from ..atomic import write_bytes

    write_bytes(Path(path), data, WeightsError)


def serialize(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """Safetensors bytes with sorted keys and sorted metadata, so output is reproducible."""
    import torch

    dtypes = {getattr(torch, name): code for name, code in DTYPE_NAMES.items()}
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in dtypes:
            raise WeightsError(f"tensor '{name}' has dtype {t.dtype}; expected one of {list(dtypes)}.")
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    head += b" " * (-len(head) % 8)  # align the data section to 8 bytes, as the reference writer does
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


def save_safetensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> str:
    """Write atomically and return the file's sha256."""
    data = serialize(tensors, metadata)
    atomic_write_bytes(Path(path), data)
    return hashlib.sha256(data).hexdigest()


def load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read tensors and metadata; refuse pickles and say how to convert them."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not os.path.isfile(path):  # never raises, unlike Path.is_file on a name too long
        if os.path.exists(path):
            raise WeightsError(f"Weights file '{path}' is not a regular file (a folder or a device). "
                               "Give the path of a .safetensors file.")
        raise WeightsError(f"Weights file '{path}' does not exist. Check the path or run 'zoo fetch'.")
    with open(path, "rb") as f:
        head = f.read(8)
    # A safetensors file starts with its header length (u64 LE), whose high bytes are zero: 80 02 00.. is a
    # 640-byte header, not pickle protocol 2 (whose next byte is an opcode), and PK 00.. is not a zip.
    looks_pickled = head[:2] in (b"PK", b"\x80\x02", b"\x80\x04", b"\x80\x05") and head[2:8] != bytes(6)
    if path.suffix.lower() in PICKLE_SUFFIXES or looks_pickled:
        raise WeightsError(
            f"'{path}' looks like a pickle/PyTorch checkpoint, which is never loaded as weights (a pickle can run code). "
            f"Import it instead: 'zoo import {path}' recognises a community model's layout, reads its tensors "
            "without unpickling code and stores them as safetensors with a card (then use -m NAME, or -m the file)."
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"'{path}' is not a valid safetensors file ({exc}). Re-download it with 'zoo fetch'.") from None
    return tensors, meta


def load_into(module: nn.Module, tensors: Mapping[str, torch.Tensor], source: str) -> None:
    """Load a state_dict after checking names and shapes, with a message naming the first mismatch."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise WeightsError(
            f"'{source}' does not fit this architecture: missing {missing[:3]}, unexpected {extra[:3]}. "
            "Check the card's architecture and hyperparameters."
        )
    for k, v in expected.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise WeightsError(
                f"'{source}': tensor '{k}' has shape {tuple(tensors[k].shape)}, expected {tuple(v.shape)}. "
                "Check the card's architecture and hyperparameters."
            )
    check_finite(tensors, source)
    module.load_state_dict({k: t.to(v.dtype) for k, t in tensors.items() for v in [expected[k]]})


ABSURD_WEIGHT = 1e6  # shipped weights stay under 3; beyond 1e6 activations overflow (1e30 weights: all white)


def check_finite(tensors: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse weights holding NaN, ±inf or absurd values before any backend sees them (ncnn's clip turns NaN
    into a plausible colour, so a check of the output alone cannot see them on every backend)."""
    for name, t in sorted(tensors.items()):
        if not t.is_floating_point() or not t.numel():
            continue
        low, high = (float(v) for v in t.float().aminmax())  # NaN anywhere makes both NaN: the test fails
        if not (-ABSURD_WEIGHT < low and high < ABSURD_WEIGHT):
            raise WeightsError(
                f"'{source}': tensor '{name}' holds NaN, infinite or absurd values (from {low:g} to {high:g}), "
                "so the weights are damaged or badly trained; nothing was run. Run 'zoo fetch' for the card's "
                "own weights, or check the --weights file.")

