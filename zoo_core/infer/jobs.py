"""Which files to upscale and where each result goes: folders, -r, globs, .txt lists, output names."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ImageError, ZooError
from .imageio import FORMATS, SUFFIX

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jfif", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".tga", ".apng"}
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Item:
    """An input file and its path relative to the folder it was found in (kept under the output folder)."""

    src: Path
    rel: Path


@dataclass(frozen=True)
class Job:
    """One input, its output path and the output format."""

    src: Path
    dst: Path
    fmt: str  # Pillow format name
    animated: bool


def _walk(folder: Path, recursive: bool, exclude: Path | None) -> list[Item]:
    found: list[Item] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if recursive and not d.startswith(".")
                         and (exclude is None or (here / d).resolve() != exclude))
        for name in sorted(files):
            p = here / name
            if p.suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                found.append(Item(p, p.relative_to(folder)))
    return found


def _read_list(path: Path) -> list[str]:
    """Paths listed one a line in a .txt file (blank lines and # comments skipped), relative to the list."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ZooError(f"{path}: cannot read the list of inputs ({exc}).") from None
    out = []
    for line in (ln.strip() for ln in lines):
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            out.append(str(p if p.is_absolute() or p.exists() else path.parent / p))
    return out


def collect(inputs: Iterable[str | Path], *, recursive: bool = False, exclude: Path | None = None) -> list[Item]:
    """Expand folders (recursively with -r), globs and .txt lists into image files, in a stable order.

    Files named explicitly are kept whatever their suffix (a bad one is reported when processed);
    files inside folders are taken only when their suffix is an image suffix. Duplicates are dropped.
    """
    exclude = exclude.resolve() if exclude else None
    items: list[Item] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if p.is_dir():
            items += _walk(p, recursive, exclude)
        elif p.suffix.lower() == ".txt" and p.is_file():
            items += collect(_read_list(p), recursive=recursive, exclude=exclude)
        elif not p.exists() and any(ch in str(raw) for ch in GLOB_CHARS):
            matches = sorted(glob.glob(str(p), recursive=recursive))
            if not matches:
                raise ZooError(f"'{raw}' matches no file.")
            items += collect(matches, recursive=recursive, exclude=exclude)
        else:
            items.append(Item(p, Path(p.name)))
    seen: set[Path] = set()
    unique = []
    for it in items:
        key = it.src.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(it)
    return unique


def _animated(path: Path) -> tuple[bool, str | None]:
    """(animated?, container format) from the header; (False, None) when it cannot be read now."""
    from .imageio import opened

    try:
        with opened(path) as im:
            return bool(getattr(im, "is_animated", False)) and int(getattr(im, "n_frames", 1)) > 1, im.format
    except ZooError:
        return False, None


def plan(items: list[Item], output: Path, *, fmt: str | None = None) -> list[Job]:
    """(input, output) jobs. One input may go to a file path; otherwise `output` is a folder.

    Stills default to PNG; animations keep their container (GIF, WebP, APNG) unless --format says.
    Names are `stem.ext` (never `a.png.png`); two inputs that would share a name keep their suffix.
    """
    chosen = FORMATS[fmt.lower()] if fmt else None
    single_file = len(items) == 1 and output.suffix != "" and not output.is_dir()
    jobs, names = [], {}
    for it in items:
        animated, container = _animated(it.src)
        f = chosen or (container if animated and container in SUFFIX else "PNG")
        if single_file:
            out_fmt = chosen or FORMATS.get(output.suffix.lstrip(".").lower())
            if out_fmt is None:
                raise ImageError(f"{output}: unknown output format '{output.suffix}'. Use .png, .webp or .jpg.")
            return [Job(it.src, output, out_fmt, animated)]
        ext = SUFFIX[f]
        base = it.rel.with_suffix(ext)
        names.setdefault(base, []).append(it)
        jobs.append((it, f, animated, base))
    out = []
    for it, f, animated, base in jobs:
        rel = base
        if len(names[base]) > 1 and it.src.suffix.lower() != SUFFIX[f]:
            rel = it.rel.with_name(it.rel.name + SUFFIX[f])  # a.jpg and a.png both given: a.jpg.png, a.png
        out.append(Job(it.src, output / rel, f, animated))
    return out


def check_target(job: Job, inputs: set[Path], *, overwrite: bool, resume: bool) -> bool:
    """True to process, False to skip (--resume and done); ZooError when the target must not be written."""
    dst = job.dst.resolve()
    if dst in inputs:
        raise ZooError(f"{job.dst}: is an input file; zoo never overwrites inputs. Choose another -o.")
    if job.dst.exists():
        if resume:
            return False
        if not overwrite:
            raise ZooError(f"{job.dst}: already exists; pass --overwrite to replace it or --resume to skip it.")
    return True
