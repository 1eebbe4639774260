"""Where zoo keeps files it makes: the $ZOO_HOME folder and the rebuilt-weights paths in it (no other imports)."""
from __future__ import annotations

import os
from pathlib import Path

from ..cards import Card


def zoo_home() -> Path:
    """Where zoo keeps rebuilt weights: $ZOO_HOME or ~/.cache/zoo."""
    return Path(os.environ.get("ZOO_HOME") or Path.home() / ".cache" / "zoo")


def rebuilt_path(card: Card) -> Path:
    """Where a weights file rebuilt from upstream is kept (named by its sha256, so never stale)."""
    return zoo_home() / "weights" / f"{card.name}-{card.weights['sha256'][:16]}.safetensors"
