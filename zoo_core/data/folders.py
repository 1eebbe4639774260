"""The corpus folder rules: zoo deletes only folders it made, one build per folder at a time."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from ..atomic import fs_reason
from ..errors import ConfigError

MANIFEST = "manifest.json"
CORPUS_NAMES = {MANIFEST, "train", "val"}  # all that a corpus folder written by zoo holds
PARTIAL_MARK = ".zoo-partial"  # in a build folder: zoo made it, so zoo may delete it


def _names(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError as exc:
        raise ConfigError(f"Cannot read the corpus folder '{folder}' {fs_reason(exc)}") from None


def is_corpus(folder: Path, name: str) -> bool:
    """Whether `folder` is zoo's corpus `name`: a manifest (naming it, or damaged) and train/ and val/ of PNGs only."""
    names = _names(folder)
    if not names <= CORPUS_NAMES or MANIFEST not in names:
        return False
    for split in names - {MANIFEST}:
        if os.path.islink(folder / split) or not os.path.isdir(folder / split):
            return False
        if not all(e.name.endswith(".png") and e.is_file(follow_symlinks=False) for e in os.scandir(folder / split)):
            return False
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return True  # damaged: zoo's layout all the same, so `--force` may rebuild it
    return not isinstance(data, dict) or data.get("name", name) == name


def check_target(folder: Path, name: str) -> None:
    """Refuse a target that is a file, a link, or a folder holding anything but a corpus `name` of zoo's."""
    if os.path.islink(folder):
        raise ConfigError(f"'{folder}' is a symbolic link; zoo data prepare writes only into a real folder. "
                          "Fix: give --dir the folder the link points to, or a new one.")
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise ConfigError(f"'{folder}' is a file, not a folder. Fix: give --dir a new or empty folder.")
    if os.path.isdir(folder) and _names(folder) and not is_corpus(folder, name):
        raise ConfigError(f"'{folder}' holds files that are not a zoo corpus '{name}'; zoo data prepare never "
                          "deletes them. Fix: give --dir a new or empty folder.")


def fresh_partial(partial: Path) -> None:
    """An empty build folder, marked as zoo's; an old one is deleted only when zoo made it."""
    if os.path.lexists(partial):
        mine = os.path.isdir(partial) and not os.path.islink(partial) and \
            (not _names(partial) or os.path.exists(partial / PARTIAL_MARK))
        if not mine:
            raise ConfigError(f"'{partial}' is in the way of the build folder and zoo did not make it. "
                              "Fix: move it away, or give --dir another folder.")
        shutil.rmtree(partial)
    try:
        partial.mkdir(parents=True)
        (partial / PARTIAL_MARK).touch()
    except OSError as exc:
        raise ConfigError(f"Cannot write the corpus folder '{partial}' {fs_reason(exc)} "
                          "Or pass --dir to a writable folder or set ZOO_HOME.") from None


def replace_with(partial: Path, folder: Path, name: str) -> None:
    """Move the finished build into place; the old copy goes only if it is (still) zoo's corpus or empty."""
    os.unlink(partial / PARTIAL_MARK)
    if os.path.isdir(folder) and not os.path.islink(folder):
        check_target(folder, name)  # again: someone may have put files there during the build
        shutil.rmtree(folder)
    partial.rename(folder)  # the corpus appears whole or not at all


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock for `folder` (a hidden file beside it); a second build is one clear line."""
    lock = folder.parent / f".{folder.name}.zoo-lock"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise ConfigError(f"Cannot write beside the corpus folder '{folder}' {fs_reason(exc)} "
                          "Or pass --dir to a writable folder or set ZOO_HOME.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise ConfigError(f"Another 'zoo data prepare' is building '{folder}' right now. Fix: wait for it to "
                              "finish (then this one has nothing to do), or give --dir another folder.") from None
        yield
    finally:
        os.close(fd)
