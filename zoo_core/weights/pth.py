"""Read a PyTorch `.pth` checkpoint without running it: a restricted unpickler that rebuilds tensors and plain data.

`torch.save` writes a pickle whose only legitimate globals are an OrderedDict, the tensor rebuild functions and
the typed storage classes; tensor bytes live beside it (zip: `ARCHIVE/data/KEY`; legacy: after the pickles).
Every other global is refused before anything is called, so a crafted file cannot run code. The tensors are
rebuilt here from raw bytes (numpy → torch); no torch loading function is ever called on the file.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import WeightsError

if TYPE_CHECKING:
    import torch

# torch's typed storage class names → numpy dtype names (bfloat16 is read as int16 and viewed)
STORAGES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
    "ByteStorage": "uint8", "BoolStorage": "bool",
}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_BYTES = 4 << 30  # no weight file zoo can run is near this: a larger claim is a damaged or hostile header


class _Storage:
    """A storage the pickle named: its dtype, element count and (once read) bytes."""

    def __init__(self, dtype: str, numel: int) -> None:
        self.dtype, self.numel, self.data = dtype, numel, b""


class _TensorRef:
    """A tensor to rebuild once every storage's bytes are read (legacy files store them after the pickle)."""

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _refuse(path: Path, what: str) -> WeightsError:
    return WeightsError(f"'{path}' asks to load {what}; zoo reads only tensors and plain containers from a .pth "
                        "(a pickle can run code). Use a file saved with torch.save(model.state_dict()) or a .safetensors.")


def _rebuild(storage: Any, offset: Any = 0, size: Any = (), stride: Any = (), *_rest: Any) -> _TensorRef:
    """torch._utils._rebuild_tensor_v2's arguments, kept: (storage, offset, size, stride, ...)."""
    return _TensorRef(storage, offset, size, stride)


def _parameter(data: Any, *_rest: Any) -> Any:
    """torch._utils._rebuild_parameter: the tensor itself (no autograd state is wanted)."""
    return data


def _ordered_dict(*args: Any) -> OrderedDict:
    return OrderedDict(*args)


ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild,
    ("torch._utils", "_rebuild_tensor"): _rebuild,
    ("torch._utils", "_rebuild_parameter"): _parameter,
}


class _Unpickler(pickle.Unpickler):
    """find_class answers from ALLOWED only (torch's storage class names become dtype names); no global runs."""

    def __init__(self, stream: io.BytesIO, path: Path) -> None:
        super().__init__(stream)
        self.path = path
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in STORAGES:
            return STORAGES[name]  # a dtype name: only ever read inside a persistent id below
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise _refuse(self.path, f"'{module}.{name}'")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and pid[1] in STORAGES.values()
                and isinstance(pid[4], int) and 0 <= pid[4] * ITEMSIZE[pid[1]] <= MAX_BYTES):
            raise _refuse(self.path, f"an unknown persistent object {str(pid)[:60]!r}")
        key = str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(pid[1], pid[4])
        return self.storages[key]


ITEMSIZE = {"float64": 8, "int64": 8, "float32": 4, "int32": 4, "float16": 2, "bfloat16": 2, "int16": 2,
            "int8": 1, "uint8": 1, "bool": 1}


def _tensor(ref: _TensorRef) -> torch.Tensor:
    """One tensor from its storage's raw little-endian bytes, checked to lie inside them."""
    import numpy as np
    import torch

    st, size, stride, offset = ref.storage, ref.size, ref.stride, ref.offset
    if not (isinstance(st, _Storage) and isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
            and all(isinstance(v, int) and v >= 0 for v in (offset, *size, *stride))):
        raise WeightsError("a tensor in the checkpoint has a malformed storage, size, stride or offset.")
    if len(st.data) < st.numel * ITEMSIZE[st.dtype]:
        raise WeightsError("a tensor storage in the checkpoint is shorter than it says (the file is truncated).")
    kind = "int16" if st.dtype == "bfloat16" else st.dtype
    flat = torch.from_numpy(np.frombuffer(st.data, dtype=np.dtype(kind).newbyteorder("<"), count=st.numel).copy())
    if st.dtype == "bfloat16":
        flat = flat.view(torch.bfloat16)
    if all(size) and offset + sum((s - 1) * d for s, d in zip(size, stride)) >= st.numel:
        raise WeightsError("a tensor in the checkpoint reaches past its storage (the file is damaged).")
    return torch.as_strided(flat, size, stride, offset).clone()


def _materialise(obj: Any, depth: int = 0) -> Any:
    """Tensor references replaced by tensors, through dicts, lists and tuples."""
    if depth > 32:
        raise WeightsError("the checkpoint nests containers more than 32 deep; not a model's state dict.")
    if isinstance(obj, _TensorRef):
        return _tensor(obj)
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, depth + 1)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, depth + 1) for v in obj)
    if isinstance(obj, _Storage):
        raise WeightsError("the checkpoint holds a bare storage, not tensors.")
    return obj


def _read_zip(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            pkl = next((n for n in sorted(names) if n.endswith("/data.pkl") or n == "data.pkl"), None)
            if pkl is None:
                raise WeightsError(f"'{path}' is a zip without data.pkl: not a torch.save checkpoint.")
            unpickler = _Unpickler(io.BytesIO(archive.read(pkl)), path)
            result = unpickler.load()
            prefix = pkl[: -len("data.pkl")]
            for key, storage in unpickler.storages.items():
                member = f"{prefix}data/{key}"
                if member not in names:
                    raise WeightsError(f"'{path}' names tensor storage '{key}' but has no {member}: the file is damaged.")
                storage.data = archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsError(f"'{path}' is a damaged zip checkpoint ({exc}). Download it again.") from None
    return _materialise(result)


def _read_legacy(path: Path, raw: bytes) -> Any:
    """The pre-1.6 format: magic, protocol, sys info, the object, its storage keys, then each storage's bytes."""
    stream = io.BytesIO(raw)
    try:
        if _Unpickler(stream, path).load() != LEGACY_MAGIC:
            raise WeightsError(f"'{path}' is not a PyTorch checkpoint (no zip, no legacy magic number).")
        _Unpickler(stream, path).load(), _Unpickler(stream, path).load()  # protocol version, system info
        unpickler = _Unpickler(stream, path)
        result = unpickler.load()
        keys = _Unpickler(stream, path).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise WeightsError(f"'{path}' is not a readable PyTorch checkpoint ({type(exc).__name__}).") from None
    if not isinstance(keys, list):
        raise WeightsError(f"'{path}': the legacy storage list is malformed.")
    for key in map(str, keys):
        count = int.from_bytes(stream.read(8), "little")
        storage = unpickler.storages.get(key)
        size = count * (ITEMSIZE[storage.dtype] if storage else 1)
        if size > MAX_BYTES:
            raise WeightsError(f"'{path}': a storage claims {count} values; the file is damaged.")
        data = stream.read(size)
        if storage is not None:
            storage.numel, storage.data = min(count, storage.numel) if storage.numel else count, data
    return _materialise(result)


def read_pth(path: Path) -> Any:
    """The checkpoint's contents, tensors rebuilt; WeightsError (one line) for anything but tensors and containers."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            raw = b"" if head[:2] == b"PK" else head + f.read()
    except OSError as exc:
        raise WeightsError(f"Cannot read '{path}' ({exc.strerror}). Check the path.") from None
    if head[:2] == b"PK":
        return _read_zip(path)
    if head[:1] != b"\x80":
        raise WeightsError(f"'{path}' is neither a zip nor a pickle: not a PyTorch checkpoint. "
                           "Expected a .pth written by torch.save, or a .safetensors.")
    return _read_legacy(path, raw)
