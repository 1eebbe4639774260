"""The public plugin API: everything a plugin (its package, scripts and tests) needs from zoo, in one place.

    import zoo                      # hookimpl, Architecture, Command, errors, load ...
    from zoo.plugin import save_safetensors, prepare_se_image, ImageStatistics, testing

A plugin imports `zoo` and `zoo.plugin` only, never `zoo_core.*` (tests/test_plugin_api.py walks the built-in
plugins and the example plugin to say so); what is here stays stable, the rest of zoo_core may move. Names
are imported on first use, so `import zoo.plugin` loads no torch (a plugin's hook module stays cheap).
CONTRIBUTING.md shows each part in use.
"""
from __future__ import annotations

import importlib
from typing import Any

# name -> "module:attribute" (":" alone: the module itself)
_EXPORTS = {
    # descriptors and hooks (also on `zoo`)
    "hookimpl": "zoo_core.hookspecs:hookimpl",
    "Architecture": "zoo_core.architecture:Architecture",
    "Geometry": "zoo_core.architecture:Geometry",
    "Card": "zoo_core.cards:Card",
    "Command": "zoo_core.commands:Command",
    "Recognizer": "zoo_core.recognize:Recognizer",  # a state-dict layout `zoo import` reads (register_recognizers)
    "Recognized": "zoo_core.recognize:Recognized",
    "Backend": "zoo_core.interfaces:Backend",
    "Runner": "zoo_core.interfaces:Runner",
    "WeightFormat": "zoo_core.interfaces:WeightFormat",
    "ConvertedWeights": "zoo_core.interfaces:ConvertedWeights",
    "DegradationSpec": "zoo_core.interfaces:DegradationSpec",
    "LossSpec": "zoo_core.interfaces:LossSpec",
    "ZooError": "zoo_core.errors:ZooError",
    "WeightsError": "zoo_core.errors:WeightsError",
    "PluginError": "zoo_core.errors:PluginError",
    "CardError": "zoo_core.errors:CardError",
    "ConfigError": "zoo_core.errors:ConfigError",
    "get_registry": "zoo_core.registry:get_registry",
    # what a network may offer beyond forward() (zoo_core/capabilities.py)
    "Checkpointable": "zoo_core.capabilities:Checkpointable",
    "Initialisable": "zoo_core.capabilities:Initialisable",
    "ImageStatistics": "zoo_core.capabilities:ImageStatistics",
    "NcnnGraphCheck": "zoo_core.capabilities:NcnnGraphCheck",
    "NcnnLayer": "zoo_core.capabilities:NcnnLayer",
    "SEBlock": "zoo_core.capabilities:SEBlock",
    # an engine's own hints (register_engine_hints): the ncnn backend's working-set factor
    "NcnnHints": "zoo_core.default_plugins.ncnn_hints:NcnnHints",
    # weights: the deterministic safetensors writer (anyone can reproduce the sha256), its reader, atomic writes
    "save_safetensors": "zoo_core.weights.safetensors_io:save_safetensors",
    "load_safetensors": "zoo_core.weights.safetensors_io:load_safetensors",
    "atomic_write_bytes": "zoo_core.weights.safetensors_io:atomic_write_bytes",
    "convert_file": "zoo_core.api:convert_file",
    "convert_to_bytes": "zoo_core.api:convert_to_bytes",
    # image-wide squeeze-excitation: exact tiling of networks whose SE blocks average over the whole image
    "prepare_se_image": "zoo_core.infer.image_se:prepare_image",
    "Features": "zoo_core.infer.image_se:Features",
    "Gates": "zoo_core.infer.image_se:Gates",
    "Reached": "zoo_core.infer.image_se:Reached",
    "TileSource": "zoo_core.infer.image_se:TileSource",
    # cards generated from a family's variants (scripts/make_cards.py)
    "CardSpec": "zoo_core.cardgen:CardSpec",
    "Family": "zoo_core.cardgen:Family",
    "make_cards_main": "zoo_core.cardgen:main",
    # measuring and checking a network: cost per pixel, the exact tiler, scale plans, the CLI
    "cost": "zoo_core.cost:cost",
    "run_tiled": "zoo_core.infer.tiler:run_tiled",
    "reference": "zoo_core.infer.tiler:reference",
    "pad_edges": "zoo_core.infer.tiler:pad_edges",
    "plan_cards": "zoo_core.infer.scaling:plan_cards",
    "cli_main": "zoo_core.cli:main",
    "cpu_count": "zoo_core.default_plugins.backend_ncnn:cpu_count",
    # parity testing against the ncnn engine (needs pytest): the module, and what tests import by name
    "testing": "zoo_core.testing.ncnn_parity:",
    "isolated_zoo": "zoo_core.testing.ncnn_parity:isolated_zoo",
    "assert_parity": "zoo_core.testing.ncnn_parity:assert_parity",
    "parity": "zoo_core.testing.ncnn_parity:parity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import `name` on first use (no torch for `import zoo.plugin`)."""
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'zoo.plugin' has no attribute {name!r}; it offers: {', '.join(__all__)}")
    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    value = getattr(value, attr) if attr else value
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
