"""`zoo convert`: foreign weights → deterministic safetensors with provenance metadata."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..atomic import fs_reason, refuse_inputs
from ..errors import WeightsError
from ..registry import get_registry
from .safetensors_io import atomic_write_bytes, load_into, save_safetensors, serialize, sha256_file


def convert_to_bytes(
    arch_id: str, fmt: str, paths: Sequence[Path], hyperparameters: Mapping[str, Any] | None = None
) -> bytes:
    """Convert `paths` with the named format and return safetensors bytes (same input → same bytes)."""
    reg = get_registry()
    arch = reg.architecture(arch_id)
    converter = reg.weight_format(fmt)
    hp = arch.resolve_hyperparameters(hyperparameters)
    paths = [Path(p) for p in paths]
    for p in paths:
        if not os.path.isfile(p):  # os.path never raises (a name too long is simply not a file)
            raise WeightsError(f"Input file '{p}' does not exist.")
    module = arch.create(hp)
    try:
        result = converter.convert(arch_id, module, paths)
    except RecursionError:  # e.g. a JSON file nested 100,000 deep: json.loads gives up
        raise WeightsError(f"{', '.join(map(str, paths))}: nested too deeply to read; it is not a {fmt} "
                           "weights file zoo can convert.") from None
    except OSError as exc:
        raise WeightsError(f"{exc.filename or paths[0]}: cannot read {fs_reason(exc)}") from None
    load_into(module, result.state_dict, ", ".join(p.name for p in paths))  # shapes checked before writing
    metadata = {
        "architecture": arch_id,
        "hyperparameters": json.dumps(hp, sort_keys=True),
        "format": fmt,
        "converter": f"zoo-{fmt}/{getattr(converter, 'version', '1')}",
        "source_files": json.dumps([p.name for p in paths]),
        "source_sha256": json.dumps([sha256_file(p) for p in paths]),
        **result.metadata,
    }
    return serialize(result.state_dict, metadata)


def convert_file(
    arch_id: str, fmt: str, paths: Sequence[Path], out: Path, hyperparameters: Mapping[str, Any] | None = None
) -> str:
    """Convert and write `out` atomically (never over one of its inputs); returns its sha256."""
    refuse_inputs(Path(out), [Path(p) for p in paths], WeightsError)
    data = convert_to_bytes(arch_id, fmt, paths, hyperparameters)
    atomic_write_bytes(Path(out), data)
    return hashlib.sha256(data).hexdigest()


__all__ = ["convert_to_bytes", "convert_file", "save_safetensors"]
