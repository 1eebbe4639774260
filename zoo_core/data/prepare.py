"""`zoo data prepare`: turn a registered corpus into PNG files, a manifest and a split by source picture."""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from . import BuildContext, DatasetSpec, Item, corpus_dir, zoo_home
from .folders import MANIFEST, build_lock, check_target, fresh_partial, replace_with

SPLITS = ("train", "val")
SPLIT_SALT = "zoo-split-v1"  # fixed: the split never depends on the machine, the order or the time
MAX_MANIFEST = 64 << 20
_ENTRY_FILE = re.compile(r"(train|val)/[A-Za-z0-9._-]+\.png")


def manifest_problem(data: Any) -> str | None:
    """What is wrong with a manifest (one phrase), or None when it is complete and every path stays inside."""
    if not isinstance(data, dict) or data.get("complete") is not True:
        return "it is not marked complete"
    split, files = data.get("split"), data.get("files")
    counts = split.get("counts") if isinstance(split, dict) else None
    if not isinstance(data.get("name"), str) or not isinstance(files, list) or not isinstance(counts, dict) \
            or not all(isinstance(counts.get(k), int) for k in SPLITS):
        return "it lacks the name, split counts or file list"
    for e in files:
        rel = e.get("file") if isinstance(e, dict) else None
        if not isinstance(rel, str) or not _ENTRY_FILE.fullmatch(rel) or e.get("split") != rel.split("/")[0] \
                or not isinstance(e.get("source"), dict) or not isinstance(e["source"].get("package"), str):
            return f"entry {str(rel)[:80]!r} is not a picture of train/ or val/"
    return None


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete prepared corpus, or None (missing, incomplete or damaged)."""
    return corpus_state(folder)[0]


def corpus_state(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None) when prepared; (None, what is wrong) when its manifest is damaged; (None, None) when absent."""
    path = Path(folder) / MANIFEST
    if not os.path.lexists(path):
        return None, None
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST:
            return None, "it is not a regular file of at most 64 MB"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None, "it is not readable JSON"
    problem = manifest_problem(data)
    return (None, problem) if problem else (data, None)


def val_groups(items: Sequence[Item], fraction: float) -> set[str]:
    """Per source and kind, the groups whose salted hash ranks lowest; at least one where there are two or more."""
    by_source: dict[tuple[str, str], set[str]] = defaultdict(set)
    for it in items:
        by_source[(it.source.package, it.kind)].add(it.group)
    held: set[str] = set()
    for groups in by_source.values():
        if len(groups) < 2:
            continue
        ranked = sorted(groups, key=lambda g: hashlib.sha256(f"{SPLIT_SALT}:{g}".encode()).hexdigest())
        held.update(ranked[: max(1, math.ceil(fraction * len(groups)))])
    return held


def dhash(img: Any) -> str:
    """A 64-bit difference hash of the picture: equal for near-identical pictures at any size."""
    import numpy as np
    from PIL import Image

    px = np.asarray(img.convert("L").resize((9, 8), Image.Resampling.BILINEAR), dtype=np.int16)
    bits = "".join("1" if b else "0" for b in (px[:, :-1] > px[:, 1:]).ravel())
    shape = round(4 * img.width / img.height)  # sparse drawings on white share hashes more often than pictures
    return f"{int(bits, 2):016x}:{shape}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "image"


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=None, dynamic_ncols=True)


def file_stems(names: Sequence[str]) -> dict[str, str]:
    """A file name per item name; names that would share a file (also by case) get their own hash suffix."""
    safe = {n: _safe(n) for n in names}
    taken: dict[str, int] = {}
    for stem in safe.values():
        taken[stem.casefold()] = taken.get(stem.casefold(), 0) + 1
    return {n: stem if taken[stem.casefold()] == 1 else f"{stem}-{hashlib.sha256(n.encode()).hexdigest()[:10]}"
            for n, stem in safe.items()}


def _write(item: Item, img: Any, folder: Path, split: str, stem: str) -> dict[str, Any]:
    rel = f"{split}/{stem}.png"
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    data = buf.getvalue()
    with open(folder / rel, "xb") as f:  # never over another picture: the manifest's sha256 is this file's
        f.write(data)
    return {"file": rel, "split": split, "group": item.group, "kind": item.kind, "width": img.width, "height": img.height,
            "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "source": {"package": item.source.package, "version": item.source.version,
                       "license": item.source.license, "file": item.file}}


def _flatten(img: Any) -> Any:
    from .images import to_rgb

    return to_rgb(img)


def build(spec: DatasetSpec, folder: Path, ctx: BuildContext) -> dict[str, Any]:
    """Write every kept item of `spec` into `folder` and return the manifest."""
    items = list(spec.items(ctx))
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise ConfigError(f"Corpus '{spec.name}' names two items alike; each item name must be unique.")
    stems = file_stems(names)
    held = val_groups(items, spec.val_fraction)
    for split in SPLITS:
        (folder / split).mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    bar = _progress(len(items), f"zoo data prepare {spec.name}")
    for it in items:
        bar.update(1)
        img = it.load()
        if img is None:
            continue  # the loader counted why
        img = _flatten(img)
        if min(img.size) < spec.min_side:
            ctx.skip(f"smaller than {spec.min_side}px")
            continue
        key = dhash(img)
        if key in seen:
            ctx.skip("near-duplicate")
            continue
        seen[key] = it.name
        entries.append(_write(it, img, folder, "val" if it.group in held else "train", stems[it.name]))
    bar.close()
    return _manifest(spec, entries, ctx)


def _manifest(spec: DatasetSpec, entries: list[dict[str, Any]], ctx: BuildContext) -> dict[str, Any]:
    sources: dict[str, dict[str, str]] = {}
    for e in entries:
        s = e["source"]
        sources[s["package"]] = {"version": s["version"], "license": s["license"]}
    counts = {split: sum(1 for e in entries if e["split"] == split) for split in SPLITS}
    return {"name": spec.name, "version": spec.version, "description": spec.description, "complete": True,
            "split": {"salt": SPLIT_SALT, "by": "group within source and kind", "val_fraction": spec.val_fraction, "counts": counts},
            "sources": sources, "skipped": dict(sorted(ctx.skipped.items())), "files": entries}


def prepare(spec: DatasetSpec, root: Path | str | None = None, *, force: bool = False) -> tuple[Path, dict, bool]:
    """Build the corpus unless a complete copy of this version exists; returns (folder, manifest, built)."""
    folder = corpus_dir(spec.name, root)
    check_target(folder, spec.name)  # before any write: never a file, a link or someone's folder
    with build_lock(folder):
        current = read_manifest(folder)
        if current and current.get("version") == spec.version and not force:
            return folder, current, False
        partial = folder.with_name(folder.name + ".partial")
        fresh_partial(partial)
        ctx = BuildContext(cache=zoo_home() / "data" / "_packages")
        try:
            manifest = build(spec, partial, ctx)
        finally:
            ctx.close()
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        replace_with(partial, folder, spec.name)
    return folder, manifest, True


def split_files(name: str, split: str, root: Path | str | None = None) -> list[Path]:
    """The image files of one split of a prepared corpus; a clear error when it is not prepared."""
    return [path for path, _ in split_entries(name, split, root)]


def split_entries(name: str, split: str, root: Path | str | None = None) -> list[tuple[Path, str]]:
    """(file, source package) for each picture of one split of a prepared corpus."""
    if split not in SPLITS:
        raise ConfigError(f"Corpus split '{split}' is unknown; expected one of {', '.join(SPLITS)}.")
    folder = corpus_dir(name, root)
    manifest = load_manifest(folder, name)
    base = os.path.realpath(folder)
    out = []
    for e in manifest["files"]:
        path = folder / e["file"]
        if not os.path.realpath(path).startswith(base + os.sep):
            raise ConfigError(f"'{path}' links out of the corpus folder; zoo reads no file outside it. "
                              f"Fix: zoo data prepare {name} --force")
        if e["split"] == split:
            out.append((path, e["source"]["package"]))
    return out


def load_manifest(folder: Path, name: str) -> dict[str, Any]:
    """The manifest of a prepared corpus, or one ConfigError line: not prepared, or damaged and how to mend it."""
    data, problem = corpus_state(folder)
    if problem:
        raise ConfigError(f"{Path(folder) / MANIFEST} is damaged ({problem}). Fix: zoo data prepare {name} --force")
    if data is None:
        raise ConfigError(f"Corpus '{name}' is not prepared (no {Path(folder) / MANIFEST}). Run: zoo data prepare {name}")
    return data
