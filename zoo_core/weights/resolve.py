"""Find a card's weights by walking a chain of sources (weights/sources.py); one sha256 check per file."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Sequence

from ..cards import Card, require_trained
from ..errors import FetchError, WeightsError, ZooError
from .problems import SettingError
from .safetensors_io import sha256_file
from .sources import Source

Notify = Callable[[str], None]


class Verifier:
    """Checks files against the card's sha256; a file that matched is not hashed again (same inode, size, mtime)."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        self._matched: set[tuple[str, int, int, int]] = set()

    def wrong_digest(self, path: Path) -> str | None:
        """None when `path` has the expected sha256, else the sha256 it has."""
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)
        if key in self._matched:
            return None
        got = sha256_file(path)  # a mismatch is not remembered: the source may replace the file and ask again
        if got != self.expected:
            return got
        self._matched.add(key)
        return None


def _log_warning(message: str) -> None:
    logging.getLogger("zoo").warning(message)


def locate(card: Card, sources: Sequence[Source], *, notify: Notify | None = None) -> tuple[Path, Source]:
    """The first verified path the sources give, and the source that gave it.

    A source that fails says why (FetchError); if a later one succeeds, `notify` hears every reason
    (default: the 'zoo' logger's warnings), else they make up the error's one line.
    """
    require_trained(card)
    verifier = Verifier(card.weights["sha256"])
    failures: list[ZooError] = []
    for source in sources:
        try:
            path = source.find(card, verifier.wrong_digest)
        except SettingError:  # wrong in itself: no other source would help, so it is the answer
            raise
        except FetchError as err:  # this source could not give the file; the next one may
            failures.append(err)
            continue
        if path is None:
            continue
        got = verifier.wrong_digest(path)
        if got is None:
            if failures:
                (notify or _log_warning)(" ".join([*map(str, failures), f"Using '{card.name}' {source.how} instead."]))
            return path, source
        failures.append(WeightsError(
            f"{card.name}: sha256 of '{path}' is {got[:16]}…, the card expects {card.weights['sha256'][:16]}…. "
            "The file is corrupt or not the one the card describes."))
    if not failures:
        raise WeightsError(f"'{card.name}': none of {len(sources)} weight sources has its weights. Run 'zoo fetch "
                           f"{card.name}' to see why.")
    raise type(failures[0])(" ".join(map(str, failures)))


def resolve(card: Card, sources: Sequence[Source], *, notify: Notify | None = None) -> Path:
    """A verified local path to the card's weights: the first of `sources` that has them."""
    return locate(card, sources, notify=notify)[0]
