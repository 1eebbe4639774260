"""Where a card's weights can come from, in the order zoo tries them: each source has one method, `find`.

`find(card, wrong_digest)` returns a candidate path or None, or raises FetchError with the reason it could
not give the file (the next source is tried; every reason is reported if none can). `wrong_digest(path)` is
the resolver's check (None when the file has the card's sha256, else the sha256 found): a source that must
decide on its own (skip a bad cached copy, re-download a damaged blob) asks it, and each file is hashed once.
Each source wraps one module (cache, hub, upstream); none imports another's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

from ..card_paths import inside, plugin_package_dir, split_reference
from ..cards import Card
from ..errors import FetchError, WeightsError, ZooError
from . import hub, upstream
from .cache import rebuilt_path

Check = Callable[[Path], "str | None"]
Convert = Callable[[Card, Sequence[Path]], bytes]  # the card's upstream files -> its safetensors bytes


class Source(Protocol):
    """One place weights may be: `how` says it in `zoo fetch`'s report."""

    how: str

    def find(self, card: Card, wrong_digest: Check) -> Path | None:
        """A candidate path for the card's weights, or None."""
        ...


def package_file(spec: str, card: Card) -> Path:
    """'package:relative/path' (an installed zoo plugin's package) or a path beside the card, kept inside its root."""
    pkg, rel = split_reference(spec, card.source)
    root = plugin_package_dir(pkg, card.name, card.source) if pkg else Path(card.source).parent
    return inside(root, rel, "weights.file", card.source, WeightsError)


class LocalFile:
    """The file a plugin ships (or a run's card names), for cards whose weights are not on the Hub."""

    how = "shipped with its plugin"

    def find(self, card: Card, wrong_digest: Check) -> Path | None:
        """The named file; a missing one is an error (nothing else can stand in for it)."""
        if card.on_hub:
            return None
        path = package_file(card.weights["file"], card)
        if not path.is_file():
            raise WeightsError(f"'{card.name}': shipped weights '{path}' are missing. Reinstall the plugin.")
        return path


class ZooCache:
    """A copy rebuilt from upstream earlier, under $ZOO_HOME (a damaged one is skipped and rebuilt)."""

    how = "already here"

    def find(self, card: Card, wrong_digest: Check) -> Path | None:
        """The rebuilt file when it is there and verifies."""
        path = rebuilt_path(card) if card.on_hub else None
        return path if path is not None and path.is_file() and wrong_digest(path) is None else None


class HubCache:
    """A copy huggingface_hub downloaded earlier, found without any network access."""

    how = "already here"

    def find(self, card: Card, wrong_digest: Check) -> Path | None:
        """The cached file when it is there and verifies (a damaged one is left to `Hub` to replace)."""
        path = hub.cached_file(card) if card.on_hub else None
        return path if path is not None and wrong_digest(path) is None else None


def expected_bytes(card: Card, parameters: Callable[[Card], int | None] | None) -> int:
    """The most bytes the card's weights can take, from its network's parameter count (given by the caller: the
    weights chain never looks an architecture up by name)."""
    from .hub_limits import max_download_bytes

    return max_download_bytes(parameters(card) if parameters is not None else None)


@dataclass(frozen=True)
class Hub:
    """A download from the Hugging Face Hub at the card's pinned revision."""

    progress: bool = True
    parameters: Callable[[Card], int | None] | None = None  # the card's parameter count (None: a fixed bound)
    how = "downloaded"

    def find(self, card: Card, wrong_digest: Check) -> Path | None:
        """hf_hub_download; FetchError says why the Hub could not give the file."""
        if not card.on_hub:
            return None
        max_bytes = expected_bytes(card, self.parameters)
        return hub.download(card, progress=self.progress, wrong_digest=wrong_digest, max_bytes=max_bytes)


@dataclass(frozen=True)
class UpstreamRebuild:
    """The card's original files (installed package or a folder) converted by `convert`."""

    upstream_dir: Path | None = None
    convert: Convert | None = None
    how = "rebuilt from upstream"

    def find(self, card: Card, wrong_digest: Check) -> Path | None:
        """The rebuilt file; FetchError when there is nothing to rebuild from (the message says how to get it)."""
        if not card.on_hub:
            return None
        if self.convert is None:  # a chain built without a converter (a test's, say) cannot rebuild
            raise FetchError(upstream.missing_hint(card))
        return upstream.rebuild(card, self.upstream_dir, self.convert)


OFFLINE: tuple[Source, ...] = (LocalFile(), ZooCache(), HubCache())  # what needs neither network nor converting


def chain(*, upstream_dir: Path | None = None, progress: bool = True, convert: Convert | None = None,
          parameters: Callable[[Card], int | None] | None = None) -> list[Source]:
    """Every source, in order: shipped file, zoo cache, Hub cache, Hub download, upstream rebuild."""
    return [*OFFLINE, Hub(progress=progress, parameters=parameters),
            UpstreamRebuild(upstream_dir=upstream_dir, convert=convert)]
