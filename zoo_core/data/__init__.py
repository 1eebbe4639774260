"""Training corpora: named, registered by plugins (`register_datasets`), built by `zoo data prepare`.

A corpus is a `DatasetSpec` whose `items(ctx)` yields `Item`s: one HR picture each, with the group it
belongs to (the split keeps a group on one side), its source package, version and licence.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True, kw_only=True)
class Source:
    """Where pictures come from: a package (or generator), its version and licence."""

    package: str
    version: str
    license: str


@dataclass(frozen=True, kw_only=True)
class Item:
    """One HR picture of a corpus; `load()` returns it (None when it cannot be made, with `why` set by it)."""

    name: str  # unique in the corpus; becomes the file name
    group: str  # pictures of one group (variants of one source picture) land on one side of the split
    kind: str = ""  # the split holds out groups of each kind of each source (e.g. sprites and scenes), not just any
    source: Source
    file: str  # the file inside the package it came from
    load: Callable[[], "Image.Image | None"]


@dataclass(kw_only=True)
class BuildContext:
    """What a corpus builder may use: a cache folder for downloads and a place to report skips."""

    cache: Path
    skipped: dict[str, int] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def skip(self, why: str) -> None:
        """Count one picture left out, by reason (shown in the summary and the manifest)."""
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def on_close(self, close: Callable[[], None]) -> None:
        """Run `close` when the build ends, however it ends (a renderer's worker process, say)."""
        self.closers.append(close)

    def close(self) -> None:
        """Run the registered closers, newest first."""
        while self.closers:
            self.closers.pop()()


@dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """A named corpus: how to get its items, and how it is split."""

    name: str
    description: str
    items: Callable[[BuildContext], Iterable[Item]]
    version: str = "1"  # bump when the recipe changes, so a prepared copy is rebuilt
    val_fraction: float = 0.15  # share of each source's groups held out for validation
    min_side: int = 96  # pictures smaller than this on a side are left out


def zoo_home() -> Path:
    """Where zoo keeps its files: $ZOO_HOME or ~/.cache/zoo."""
    return Path(os.environ.get("ZOO_HOME") or Path.home() / ".cache" / "zoo")


def corpus_dir(name: str, root: Path | str | None = None) -> Path:
    """The folder of a prepared corpus: `root`, or $ZOO_HOME/data/NAME."""
    return Path(root) if root else zoo_home() / "data" / name
