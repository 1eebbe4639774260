"""Find a card's weights: shipped file → zoo cache → Hugging Face Hub → rebuild from upstream; sha256 always checked."""
from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path
from typing import Callable

from ..cards import Card, require_trained
from ..errors import FetchError, WeightsError
from .cache import rebuilt_path, zoo_home  # noqa: F401  (zoo_home: re-exported for callers of resolve)
from .safetensors_io import sha256_file

Notify = Callable[[str], None]


def package_file(spec: str, card: Card) -> Path:
    """Resolve 'package:relative/path' (or a path relative to the card file) to a real path."""
    if ":" in spec and not os.path.isabs(spec):
        pkg, rel = spec.split(":", 1)
        try:
            return Path(str(resources.files(pkg).joinpath(rel)))
        except ModuleNotFoundError:
            raise WeightsError(
                f"{card.source}: weights.file names package '{pkg}', which is not installed. "
                f"Fix: pip install the plugin that ships '{card.name}'."
            ) from None
    path = Path(spec)
    return path if path.is_absolute() else Path(card.source).parent / path



def verify(path: Path, expected: str, what: str) -> None:
    """Raise WeightsError unless the file's sha256 is `expected`."""
    got = sha256_file(path)
    if got != expected:
        raise WeightsError(
            f"{what}: sha256 of '{path}' is {got[:16]}…, the card expects {expected[:16]}…. "
            "The file is corrupt or not the one the card describes."
        )


def local_weights(card: Card) -> Path | None:
    """Weights already on this machine (shipped, rebuilt, or in the Hub cache), verified; else None."""
    if not card.trained:
        return None
    if not card.on_hub:
        path = package_file(card.weights["file"], card)
        return path if path.is_file() else None
    rebuilt = rebuilt_path(card)
    if os.path.isfile(rebuilt) and sha256_file(rebuilt) == card.weights["sha256"]:
        return rebuilt
    from .hub import cached_hub_file

    return cached_hub_file(card)


def _log_warning(message: str) -> None:
    logging.getLogger("zoo").warning(message)


def weights_path(
    card: Card, *, upstream_dir: Path | None = None, progress: bool = True, notify: Notify | None = None
) -> Path:
    """A verified local path to the card's weights: local copy, else Hub download, else upstream rebuild.

    A verified local copy is used without contacting the Hub: the card's sha256 pins the content.
    `notify` hears about a bad download or a fallback (default: the 'zoo' logger's warnings).
    """
    require_trained(card)
    if not card.on_hub:
        path = package_file(card.weights["file"], card)
        if not path.is_file():
            raise WeightsError(f"'{card.name}': shipped weights '{path}' are missing. Reinstall the plugin.")
        verify(path, card.weights["sha256"], card.name)
        return path
    local = local_weights(card)
    if local is not None:
        return local
    from .hub import download
    from .upstream import rebuild, upstream_available

    try:
        return download(card, progress=progress)
    except FetchError as hub_error:
        try:
            available = upstream_available(card, upstream_dir)
        except FetchError as upstream_error:
            raise FetchError(f"{hub_error} {upstream_error}") from None
        if not available:
            raise FetchError(f"{hub_error} {_upstream_hint(card)}") from None
        (notify or _log_warning)(f"{hub_error} Rebuilding '{card.name}' from its upstream files instead.")
        return rebuild(card, upstream_dir)


def _upstream_hint(card: Card) -> str:
    up = card.upstream
    if up.get("package") and up.get("files"):
        return (
            f"No upstream copy to rebuild from either. Fix: retry when the Hub is reachable (or set HF_ENDPOINT to "
            f"a mirror), or 'pip install {up['package']}' (or pass --upstream DIR with its files) to rebuild "
            f"'{card.name}' offline."
        )
    return "Fix: retry when the Hub is reachable (or set HF_ENDPOINT to a mirror), or pass a local file with --weights."
