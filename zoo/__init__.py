"""zoo: a plugin-based model zoo for anime-style super-resolution and JPEG noise reduction.

    import zoo
    up = zoo.load("upconv7-noise1")
    big = up.upscale("small.png")
"""
from zoo_core.api import build_model, fetch, get_card, list_models, load
from zoo_core.architecture import Architecture, Geometry
from zoo_core.cards import Card, parse_card
from zoo_core.commands import Command
from zoo_core.errors import (
    CardError,
    ConfigError,
    DuplicateNameError,
    FetchError,
    ImageError,
    PluginError,
    UnknownNameError,
    WeightsError,
    ZooError,
)
from zoo_core.hookspecs import hookimpl
from zoo_core.interfaces import Backend, ConvertedWeights, DegradationSpec, LossSpec, Runner, WeightFormat
from zoo_core.importer import import_model
from zoo_core.recognize import Recognized, Recognizer
from zoo_core.registry import get_registry, reset_registry

__all__ = [
    "Architecture", "Backend", "Card", "CardError", "Command", "ConfigError", "ConvertedWeights", "DegradationSpec",
    "DuplicateNameError", "FetchError", "Geometry", "ImageError", "LossSpec", "PluginError", "Recognized", "Recognizer", "Runner",
    "UnknownNameError", "Upscaler", "WeightFormat", "WeightsError", "ZooError", "build_model", "fetch", "get_card",
    "get_registry", "hookimpl", "import_model", "list_models", "load", "parse_card", "reset_registry",
]


def __getattr__(name: str):
    """`zoo.Upscaler` is imported on first use: `import zoo` (and so every plugin) does not load torch."""
    if name == "Upscaler":
        from zoo_core.infer.upscaler import Upscaler

        return Upscaler
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
