"""The one rule for every path and name a card (or ZOO_HUB_REPO) gives: it stays inside its root.

A card's `weights.file`, `upstream.files[].path`, Hub `filename`, `repo_id` and `revision` are checked as text
when the card is read (no '..', no absolute path, no control characters), and a path again against its root
when it is opened (no symbolic link leading out). A `package:path` reference names the package of an installed
zoo plugin (an entry point of group `zoo`); it is located without importing anything, so a card can never make
zoo import a module of its choosing from the current folder or sys.path.
"""
from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import re
from pathlib import Path, PurePosixPath

from .errors import CardError, ZooError

GROUP = "zoo"
# Hugging Face's own limits: 96 characters a part; revisions are branch, tag or commit names (refs/pr/1)
REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
REVISION_RE = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
PACKAGE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_PATH = 1000


def relative_problem(value: str) -> str | None:
    """Why `value` is not a relative path inside its root, or None when it is one."""
    if not value or len(value) > MAX_PATH or not value.isprintable():
        return "it must be a non-empty relative path of printable characters"
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        return "an absolute path"
    if "\\" in value:
        return "a backslash: write paths with '/'"
    if any(part in ("..", "") for part in PurePosixPath(value).parts) or ".." in value.split("/"):
        return "'..' leads out of its folder"
    return None


def check_relative(value: str, field: str, where: str, error: type[ZooError] = CardError) -> str:
    """`value` when it is a relative path that stays inside its root, else `error` naming the field."""
    why = relative_problem(value)
    if why:
        raise error(f"{where}: field '{field}' {value!r:.80} leads outside its package or folder ({why}); zoo reads "
                    "only files inside them. Fix the card's path.")
    return value


def split_reference(value: str, where: str) -> tuple[str | None, str]:
    """A `weights.file` as (package or None, relative path), both checked as text."""
    field = "weights.file"
    if ":" in value and not re.match(r"^[A-Za-z]:[\\/]", value):
        pkg, rel = value.split(":", 1)
        if not PACKAGE_RE.fullmatch(pkg):
            raise CardError(f"{where}: field '{field}' {value!r:.80} must be PACKAGE:PATH with PACKAGE the module of an "
                            "installed zoo plugin (e.g. zoo_drrn:weights/x.safetensors), or a path beside the card.")
        return pkg, check_relative(rel, field, where)
    return None, check_relative(value, field, where)


def inside(root: Path, rel: str, field: str, where: str, error: type[ZooError] = CardError) -> Path:
    """`root / rel`, refused before any read when it (or a link on the way) leads outside `root`."""
    check_relative(rel, field, where, error)
    path = Path(root) / rel
    top = os.path.realpath(root)
    if os.path.commonpath([top, os.path.realpath(path)]) != top:
        raise error(f"{where}: field '{field}' {rel!r:.80} leads outside {root} (a symbolic link); zoo reads only "
                    "files inside their package or folder. Fix the card's path.")
    return path


def plugin_packages() -> dict[str, str]:
    """Top-level package of each installed zoo plugin -> its distribution name (nothing imported)."""
    found: dict[str, str] = {}
    for ep in md.entry_points(group=GROUP):
        top = ep.value.split(":")[0].split(".")[0].strip()
        dist = getattr(ep, "dist", None)
        found.setdefault(top, dist.metadata["Name"] if dist else ep.name)
    return found


def plugin_package_dir(pkg: str, card_name: str, where: str) -> Path:
    """The folder of package `pkg`, which must belong to an installed zoo plugin; found, never imported."""
    known = plugin_packages()
    if pkg not in known:
        raise CardError(f"{where}: field 'weights.file' names package '{pkg}', which is not the package of an installed "
                        f"zoo plugin (installed: {', '.join(sorted(known)) or 'none'}). Fix: pip install the plugin that "
                        f"ships '{card_name}', or correct the name.")
    spec = importlib.util.find_spec(pkg)  # a top-level name: located by the finders, its code is not run
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise CardError(f"{where}: field 'weights.file' names '{pkg}' of plugin {known[pkg]}, which is not a package "
                        "folder holding files. Reinstall the plugin.")
    return Path(folders[0])


def check_repo_id(value: str, field: str, where: str, error: type[ZooError] = CardError) -> str:
    """A Hub repository id ORG/NAME (each part at most 96 characters, no '..')."""
    if not REPO_RE.fullmatch(value) or ".." in value:
        raise error(f"{where}: {field} {value!r:.120} is not a Hub repository id ORG/NAME (letters, digits, '.', '_', "
                    "'-'; at most 96 characters a part). Fix it.")
    return value


def check_revision(value: str, field: str, where: str, error: type[ZooError] = CardError) -> str:
    """A Hub revision (branch, tag or commit) that cannot name a path outside the Hub cache."""
    if len(value) > 200 or not REVISION_RE.fullmatch(value) or any(p in (".", "..") for p in value.split("/")):
        raise error(f"{where}: {field} {value!r:.120} is not a Hub revision (a branch, tag or commit: letters, digits, "
                    "'.', '_', '-', '/'; no '..'). Fix it.")
    return value


def check_card_paths(weights: dict, upstream: dict, where: str) -> None:
    """Every path and Hub name a card gives, checked as text when the card is read."""
    if "repo_id" in weights:
        check_repo_id(weights["repo_id"], "field 'weights.repo_id'", where)
        check_revision(weights["revision"], "field 'weights.revision'", where)
        check_relative(weights["filename"], "weights.filename", where)
    elif "file" in weights:
        split_reference(weights["file"], where)
    for i, f in enumerate(upstream.get("files", [])):
        check_relative(f["path"], f"upstream.files[{i}].path", where)
