"""`zoo convert`: foreign weights → deterministic safetensors with provenance metadata.

The caller passes the architecture and weight format objects (zoo_core.api looks them up by name).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..atomic import fs_reason, refuse_inputs
from ..errors import WeightsError
from .safetensors_io import atomic_write_bytes, load_into, save_safetensors, serialize, sha256_file

if TYPE_CHECKING:
    from ..architecture import Architecture
    from ..interfaces import WeightFormat


def converted_bytes(
    arch: Architecture, converter: WeightFormat, paths: Sequence[Path], hyperparameters: Mapping[str, Any] | None = None
) -> bytes:
    """Convert `paths` with `converter` for `arch`; return safetensors bytes (same input → same bytes)."""
    arch_id, fmt = arch.id, converter.name
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
        "converter": f"zoo-{fmt}/{converter.version}",
        "source_files": json.dumps([p.name for p in paths]),
        "source_sha256": json.dumps([sha256_file(p) for p in paths]),
        **result.metadata,
    }
    return serialize(result.state_dict, metadata)


def write_converted(
    arch: Architecture, converter: WeightFormat, paths: Sequence[Path], out: Path,
    hyperparameters: Mapping[str, Any] | None = None,
) -> str:
    """Convert and write `out` atomically (never over one of its inputs); returns its sha256."""
    refuse_inputs(Path(out), [Path(p) for p in paths], WeightsError)
    data = converted_bytes(arch, converter, paths, hyperparameters)
    atomic_write_bytes(Path(out), data)
    return hashlib.sha256(data).hexdigest()


__all__ = ["converted_bytes", "write_converted", "save_safetensors"]
