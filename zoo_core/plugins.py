"""The PluginManager: loads entry points of group `zoo` lazily, isolating each plugin's failures."""
from __future__ import annotations

import importlib.machinery
import importlib.metadata as md
import importlib.util
import os
import sys
import threading
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pluggy

from . import hookspecs

GROUP = "zoo"
BUILTINS = "builtins"  # zoo's own entry point (zoo_core.default_plugins): its names are never taken by a plugin
DISABLE_ENV = "ZOO_DISABLE_PLUGINS"
CARD_FOLDER = "cards"  # a plugin package's sub-folder whose *.yaml cards are registered automatically
# what a plugin may raise that must stay inside it: sys.exit() and a KeyboardInterrupt raised by its code included
CONTAINED = (Exception, SystemExit, KeyboardInterrupt)
SLOW_IMPORT_S = 3.0  # a plugin still importing after this long is named on stderr (the user sees why zoo waits)


@dataclass
class PluginInfo:
    """One installed plugin: where it came from and what went wrong, if anything."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    disabled: bool = False
    card_dir: str | None = None  # the package's cards/ folder, found without importing the plugin


def _spec(dotted: str) -> ModuleSpec | None:
    """A module's spec found on the path, never importing a parent package (find_spec('a.b') imports 'a')."""
    top, *rest = dotted.split(".")
    spec = importlib.util.find_spec(top)  # a top-level name is found without running it (editable installs too)
    for part in rest:
        if spec is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(part, list(spec.submodule_search_locations or []))
    return spec


def card_folder(module_name: str) -> Path | None:
    """The `cards/` folder inside a plugin package (found without running its code), or None."""
    top = module_name.split(":", 1)[0].strip()
    try:
        spec = _spec(top)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / CARD_FOLDER
        if folder.is_dir():
            return folder
    return None


def disabled_names() -> set[str]:
    """Plugin (entry-point or distribution) names listed in ZOO_DISABLE_PLUGINS."""
    raw = os.environ.get(DISABLE_ENV, "")
    return {n.strip() for n in raw.split(",") if n.strip()}


def _entry_points() -> list[md.EntryPoint]:
    eps = md.entry_points(group=GROUP)
    seen: set[tuple[str, str]] = set()
    unique = []
    for ep in sorted(eps, key=lambda e: e.name):
        key = (ep.name, ep.value)
        if key not in seen:  # the same dist can be visible twice on odd sys.paths
            seen.add(key)
            unique.append(ep)
    return unique


def make_manager(extra_modules: list[ModuleType] | None = None) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Load every `zoo` entry point (plus `extra_modules`), recording failures instead of raising."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    blocked = disabled_names()
    infos: list[PluginInfo] = []
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.metadata["Name"] if dist else None,
            version=dist.version if dist else None,
        )
        infos.append(info)
        folder = card_folder(ep.value)
        info.card_dir = str(folder) if folder else None
        if ep.name in blocked or (info.distribution and info.distribution in blocked):
            info.disabled = True
            continue
        try:
            with _importing(ep.name):
                module = ep.load()
            pm.register(module, name=ep.name)
            pm.check_pending()  # a misspelled hook (register_architecture) fails loudly, per plugin
        except CONTAINED as exc:  # a broken plugin must not take the others down
            info.error = failure(exc)
            if pm.has_plugin(ep.name):
                pm.unregister(name=ep.name)
            continue
        info.hooks = sorted(h.name for h in pm.get_hookcallers(module) or [])
    for module in extra_modules or []:
        name = module.__name__
        pm.register(module, name=name)
        pm.check_pending()
        folder = card_folder(name) if hasattr(module, "__path__") else None
        infos.append(PluginInfo(name=name, module=name, hooks=sorted(h.name for h in pm.get_hookcallers(module) or []),
                                card_dir=str(folder) if folder else None))
    return pm, infos


def failure(exc: BaseException) -> str:
    """A plugin's exception as one short phrase for `zoo plugins` (SystemExit says what it is)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: it called sys.exit({exc.code!r}) (a plugin must never exit zoo)"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


@contextmanager
def _importing(name: str) -> Iterator[None]:
    """Import a plugin with zoo's arguments hidden (argparse at import sees none) and a notice when it is slow."""
    timer = threading.Timer(SLOW_IMPORT_S, lambda: print(
        f"zoo: still importing plugin '{name}' after {SLOW_IMPORT_S:g} s (disable it with {DISABLE_ENV}={name}).",
        file=sys.stderr, flush=True))
    timer.daemon = True
    argv = sys.argv
    sys.argv = argv[:1]
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        sys.argv = argv
