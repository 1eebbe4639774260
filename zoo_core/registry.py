"""Typed collections built from the plugin hooks, with lookups that fail helpfully."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from .architecture import Architecture
from .cards import Card, check_variants_against, load_card_file, parse_card
from .commands import Command
from .data import DatasetSpec
from .errors import CardError, DuplicateNameError, UnknownNameError, ZooError, did_you_mean
from .interfaces import Backend, DegradationSpec, LossSpec, WeightFormat, checked
from .lazy import LazyObject
from .plugins import BUILTINS, CONTAINED, PluginInfo, failure, make_manager
from .recognize import Recognizer

# hook -> (collection, plural word for messages, type check or None for duck typing)
KINDS: dict[str, tuple[str, str]] = {
    "register_commands": ("commands", "command"),
    "register_architectures": ("architectures", "architecture"),
    "register_degradations": ("degradations", "degradation"),
    "register_losses": ("losses", "loss"),
    "register_weight_formats": ("weight_formats", "weight format"),
    "register_backends": ("backends", "backend"),
    "register_datasets": ("datasets", "dataset"),
    "register_recognizers": ("recognizers", "recognizer"),
    "register_engine_hints": ("engine_hints", "engine hints"),
}
EXPECTED: dict[str, Callable[[Any], bool]] = {
    "commands": lambda o: isinstance(o, Command),
    "architectures": lambda o: isinstance(o, Architecture),
    "degradations": lambda o: isinstance(o, DegradationSpec),
    "losses": lambda o: isinstance(o, LossSpec),
    # a LazyObject (a built-in) is checked when first used: zoo_core.api loads and checks it
    "weight_formats": lambda o: isinstance(o, LazyObject) or checked(o, WeightFormat),
    "backends": lambda o: isinstance(o, LazyObject) or checked(o, Backend),
    "datasets": lambda o: isinstance(o, DatasetSpec),
    "recognizers": lambda o: isinstance(o, Recognizer),
    # each engine defines (and reads) its own hints: an object naming its engine and architecture, kept by name
    "engine_hints": lambda o: isinstance(getattr(o, "engine", None), str) and isinstance(getattr(o, "name", None), str),
}


@dataclass
class Problem:
    """Something a plugin or card got wrong; shown as a warning, the rest keeps working."""

    plugin: str
    message: str


@dataclass
class Registry:
    """Everything the installed plugins registered."""

    architectures: dict[str, Architecture] = field(default_factory=dict)
    degradations: dict[str, DegradationSpec] = field(default_factory=dict)
    losses: dict[str, LossSpec] = field(default_factory=dict)
    weight_formats: dict[str, Any] = field(default_factory=dict)
    backends: dict[str, Any] = field(default_factory=dict)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    recognizers: dict[str, Recognizer] = field(default_factory=dict)  # state-dict layouts `zoo import` reads
    engine_hints: dict[str, Any] = field(default_factory=dict)  # "ENGINE:ARCH" -> that engine's hints (its own type)
    cards: dict[str, Card] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)  # the first plugin to register a name keeps it
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)
    unavailable: list[tuple[Card, str]] = field(default_factory=list)  # (card, what it needs) for `zoo list --all`

    def add(self, kind: str, name: str, obj: Any, plugin: str) -> None:
        """Add one object; a second plugin using the same name makes the name unusable, loudly."""
        key = (kind, name)
        if key in self.owners:
            first = self.owners[key]
            if kind == "commands":  # a clash never takes a built-in command away: the first one stays
                self.problems.append(Problem(plugin, f"command '{name}' is already registered by '{first}'; "
                                             f"rename it or disable one (ZOO_DISABLE_PLUGINS={plugin})."))
                return
            self.conflicts.setdefault(key, [first]).append(plugin)
            self.problems.append(Problem(plugin, f"{KINDS_BY_ATTR.get(kind, kind[:-1])} '{name}' is registered by both "
                                         f"'{first}' and '{plugin}'; uninstall or disable one "
                                         f"(ZOO_DISABLE_PLUGINS={plugin})."))
            return
        self.owners[key] = plugin
        getattr(self, kind)[name] = obj

    def _get(self, kind: str, name: str, what: str, hint: str) -> Any:
        key = (kind, name)
        if key in self.conflicts:
            raise DuplicateNameError(
                f"{what} '{name}' is registered by several plugins: {', '.join(self.conflicts[key])}. "
                f"Disable all but one with ZOO_DISABLE_PLUGINS=NAME."
            )
        table = getattr(self, kind)
        if name not in table:
            names = sorted(table)
            raise UnknownNameError(
                f"Unknown {what} '{name}'.{did_you_mean(name, names)} Available: {', '.join(names) or '(none)'}. {hint}"
            )
        return table[name]

    def architecture(self, name: str) -> Architecture:
        """The architecture with this id."""
        return self._get("architectures", name, "architecture", "Run 'zoo plugins' to see what is installed.")

    def degradation(self, name: str) -> DegradationSpec:
        """The degradation with this name."""
        return self._get("degradations", name, "degradation", "Run 'zoo plugins'.")

    def loss(self, name: str) -> LossSpec:
        """The loss with this name."""
        return self._get("losses", name, "loss", "Run 'zoo plugins'.")

    def weight_format(self, name: str) -> Any:
        """The weight converter with this name."""
        return self._get("weight_formats", name, "weight format", "Run 'zoo plugins'.")

    def backend(self, name: str) -> Any:
        """The inference backend with this name."""
        return self._get("backends", name, "backend", "Run 'zoo plugins'.")

    def dataset(self, name: str) -> DatasetSpec:
        """The training corpus with this name."""
        return self._get("datasets", name, "corpus", "Run 'zoo data list'.")

    def default_model(self) -> Card:
        """The card a plugin marks `default: true`: the model used when none is named."""
        marked = [c for c in self.cards.values() if c.default]
        if not marked:
            raise UnknownNameError("No installed plugin marks a default model (a card with 'default: true'). "
                                   "Name one with -m NAME; 'zoo list' shows what is installed.")
        return marked[0]

    def card(self, name: str) -> Card:
        """The card with this name; an architecture id resolves to its default card."""
        if ("cards", name) not in self.owners and name in self.architectures:
            default = self.architectures[name].default_card
            if default:
                name = default
        return self._get("cards", name, "model", "Run 'zoo list'.")


def _register_for(reg: Registry, kind: str, plugin: str) -> Callable[[Any], None]:
    def register(obj: Any) -> None:
        if not EXPECTED[kind](obj):
            raise ZooError(f"registered {type(obj).__name__} {obj!r:.60} where an object of kind {KINDS_BY_ATTR[kind]!r} was expected")
        if kind == "architectures":
            try:  # a malformed architecture is one problem line; the plugin's other registrations still count
                obj.check()
            except ZooError as exc:
                reg.problems.append(Problem(plugin, str(exc)))
                return
        if kind == "commands" and plugin != BUILTINS:
            problem = _command_problem(obj)
            if problem:
                reg.problems.append(Problem(plugin, problem))
                return
        reg.add(kind, obj.id if kind == "architectures" else obj.name, obj, plugin)

    return register


KINDS_BY_ATTR = {attr: word for attr, word in KINDS.values()}


def builtins_first(impls: list[Any]) -> list[Any]:
    """Hook implementations with zoo's own first: a plugin whose name sorts before 'builtins' can never take a
    built-in name (a command such as `list`); it is the one named in the clash."""
    return sorted(impls, key=lambda impl: impl.plugin_name != BUILTINS)


def _command_problem(command: Command) -> str | None:
    """Why a plugin's command would break the `zoo` parser (its arguments() raising, adding -h, exiting), or None."""
    import argparse

    try:
        command.arguments(argparse.ArgumentParser(prog=f"zoo {command.name}"))
    except CONTAINED as exc:
        return f"command '{command.name}': arguments() raised {failure(exc)}; the command is left out."
    return None


def _folder_cards(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _collect_cards(pm: Any, reg: Registry) -> None:
    pending: list[tuple[str, Any]] = []
    for info in reg.plugins:  # each plugin's cards/ folder, found by convention
        if info.card_dir and not info.disabled and info.error is None:
            pending.extend((info.name, path) for path in _folder_cards(info.card_dir))
    from .imported_cards import FOLDER, imported_card_files

    pending.extend((FOLDER, path) for path in imported_card_files())  # `zoo import`'s cards, from $ZOO_HOME
    for impl in builtins_first(pm.hook.register_model_cards.get_hookimpls()):
        try:
            impl.function(register=lambda obj, p=impl.plugin_name: pending.append((p, obj)))
        except CONTAINED as exc:
            reg.problems.append(Problem(impl.plugin_name, f"register_model_cards raised {failure(exc)}"))
    seen: set[tuple[str, Path]] = set()
    for plugin, obj in pending:
        if isinstance(obj, (str, Path)):
            key = (plugin, Path(obj).resolve())
            if key in seen:  # a card both in cards/ and registered by hand counts once
                continue
            seen.add(key)
        try:
            card = load_card_file(Path(obj)) if isinstance(obj, (str, Path)) else parse_card(obj, f"<card from {plugin}>")
            if card.architecture not in reg.architectures:
                reg.unavailable.append((card, f"architecture '{card.architecture}' (no installed plugin registers it)"))
            _check_card(reg, card)
        except CardError as exc:
            reg.problems.append(Problem(plugin, str(exc)))
            continue
        reg.add("cards", card.name, card, plugin)
    marked = [name for name, card in reg.cards.items() if card.default]
    for name in marked[1:]:
        reg.problems.append(Problem(reg.owners[("cards", name)], f"card '{name}' says 'default: true' but "
                                    f"'{marked[0]}' already does; '{marked[0]}' is the default. Remove one flag."))
    _collect_unavailable(reg)
    _check_default_cards(reg)


def _check_default_cards(reg: Registry) -> None:
    """An architecture's default_card must be a card some plugin registers (`zoo.load(ARCH)` uses it)."""
    for arch_id, arch in reg.architectures.items():
        if arch.default_card and arch.default_card not in reg.cards and ("architectures", arch_id) in reg.owners:
            known = ", ".join(sorted(c.name for c in reg.cards.values() if c.architecture == arch_id)) or "(none)"
            reg.problems.append(Problem(reg.owners[("architectures", arch_id)], f"architecture '{arch_id}' names "
                                        f"default_card '{arch.default_card}', which no plugin registers (its cards: "
                                        f"{known}). Fix: add cards/{arch.default_card}.yaml or name one of them."))


def _collect_unavailable(reg: Registry) -> None:
    """Cards shipped by disabled or broken plugins: not usable, but `zoo list --all` names what they need."""
    for info in reg.plugins:
        if not info.card_dir or not (info.disabled or info.error):
            continue
        why = "disabled by ZOO_DISABLE_PLUGINS" if info.disabled else "broken, see 'zoo plugins'"
        for path in _folder_cards(info.card_dir):
            try:
                card = load_card_file(path)
            except CardError:
                continue
            reg.unavailable.append((card, f"plugin '{info.name}' ({why})"))


def check_card(reg: Registry, card: Card) -> None:
    """A card against the registered architectures: its name, hyperparameters and variant fields."""
    _check_card(reg, card)


def _check_card(reg: Registry, card: Card) -> None:
    if card.architecture not in reg.architectures:
        known = ", ".join(sorted(reg.architectures)) or "(none)"
        raise CardError(
            f"{card.source}: field 'architecture' names '{card.architecture}', which no installed plugin "
            f"registers (installed: {known}). Fix: install its plugin package or correct the name."
        )
    try:  # the geometry too: a card's hyperparameters reach the plugin's context/offset functions
        geo = reg.architectures[card.architecture].geometry(card.hyperparameters)
    except ZooError as exc:
        raise CardError(f"{card.source}: field 'hyperparameters': {exc}") from None
    arch = reg.architectures[card.architecture]
    if geo.scale != card.scale:  # the scale is the network's (Architecture.geometry); the card only restates it
        raise CardError(f"{card.source}: field 'task.scale' is {card.scale}, but architecture '{arch.id}' with these "
                        f"hyperparameters upscales {geo.scale}x. Fix: set task.scale: {geo.scale}, or the 'scale' "
                        "hyperparameter.")
    if arch.variants:
        check_variants_against(card, arch.variants, arch.id)


def build_registry(extra_modules: list[ModuleType] | None = None) -> Registry:
    """Load plugins and call every hook, one implementation at a time so failures stay local."""
    pm, infos = make_manager(extra_modules)
    reg = Registry(plugins=infos)
    for info in infos:
        if info.error:
            reg.problems.append(Problem(info.name, f"failed to load: {info.error}"))
    for hook, (kind, word) in KINDS.items():
        for impl in builtins_first(getattr(pm.hook, hook).get_hookimpls()):
            try:
                impl.function(register=_register_for(reg, kind, impl.plugin_name))
            except CONTAINED as exc:  # sys.exit() or a KeyboardInterrupt raised in a hook included
                reg.problems.append(Problem(impl.plugin_name, f"{hook} raised {failure(exc)}"))
    _collect_cards(pm, reg)
    for info in infos:
        if info.error is None and any(p.plugin == info.name for p in reg.problems):
            info.error = "; ".join(p.message for p in reg.problems if p.plugin == info.name)
    return reg


_lock = threading.Lock()
_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = build_registry()
        return _registry


def reset_registry() -> None:
    """Forget the registry so the next use reloads plugins (tests, after installing a plugin)."""
    global _registry
    with _lock:
        _registry = None
