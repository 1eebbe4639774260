"""Where `zoo import` keeps its cards: a leaf the registry reads (importer.py imports the registry, not this way)."""
from __future__ import annotations

from pathlib import Path

from .weights.cache import zoo_home

FOLDER = "imported"


def imported_dir() -> Path:
    """Where imported cards and weights live: $ZOO_HOME/imported."""
    return zoo_home() / FOLDER


def imported_card_files() -> list[Path]:
    """The imported cards' YAML files (none when nothing was imported)."""
    folder = imported_dir()
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []
