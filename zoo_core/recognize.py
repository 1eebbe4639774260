"""Recognising a community model file: each architecture plugin declares the state-dict layouts it knows.

A plugin registers `zoo.Recognizer(name=..., architecture=..., recognize="module:function")` through the
`register_recognizers` hook. `recognize(shapes)` gets the file's tensor names and shapes (no tensors, no torch)
and returns None (not its layout) or a `Recognized`: the hyperparameters read from the shapes and how each of the
file's keys is named in the architecture's own state dict. Core knows no layout: it asks every recognizer and
takes the one answer; none, or several, is one line saying what was seen.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .errors import PluginError, WeightsError

if TYPE_CHECKING:
    import torch

Shapes = Mapping[str, tuple[int, ...]]
Convert = Callable[[dict[str, "torch.Tensor"], Mapping[str, Any]], dict[str, "torch.Tensor"]]


@dataclass(frozen=True, kw_only=True)
class Recognized:
    """What a recognizer read from a file: hyperparameters, key renaming and an optional tensor conversion.

    `keys` maps each file key the architecture uses to its own name (a file key left out is dropped, e.g. a
    training-only branch); `convert(tensors, hyperparameters)`, a callable or "module:function" imported when
    the weights are converted (it may import torch), rewrites the renamed tensors (fusing re-parameterised convs).
    """

    hyperparameters: dict[str, Any]
    keys: dict[str, str]
    scale: int
    convert: Convert | str | None = None
    notes: tuple[str, ...] = ()  # what the file cannot tell (shown by `zoo import`, kept in the card)


@dataclass(frozen=True, kw_only=True)
class Recognizer:
    """A state-dict layout an architecture plugin can read: `recognize(shapes) -> Recognized | None`."""

    name: str
    architecture: str
    recognize: Callable[[Shapes], Recognized | None] | str
    description: str = ""
    _loaded: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr in ("name", "architecture"):
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise PluginError(f"Recognizer {attr} must be a non-empty string, got {getattr(self, attr)!r:.40}.")
        if not callable(self.recognize) and not (isinstance(self.recognize, str) and ":" in self.recognize):
            raise PluginError(f"Recognizer '{self.name}': recognize must be a callable or 'module:function', "
                              f"got {self.recognize!r:.40}.")

    def function(self) -> Callable[[Shapes], Recognized | None]:
        """The recognize function, imported on first use."""
        return _resolve(self.recognize, f"Recognizer '{self.name}'")


def _resolve(target: Any, who: str) -> Any:
    if callable(target):
        return target
    module, _, name = str(target).partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{who}: {target!r} cannot be imported ({exc}). Fix the 'module:function' string.") from None


def summary(shapes: Shapes, limit: int = 4) -> str:
    """The first few keys with their shapes: what a user sees when nothing or too much matched."""
    items = [f"{k} {tuple(v)}" for k, v in list(shapes.items())[:limit]]
    more = f", … ({len(shapes)} tensors)" if len(shapes) > limit else ""
    return ", ".join(items) + more


def recognise(shapes: Shapes, recognizers: Mapping[str, Recognizer], where: str) -> tuple[Recognizer, Recognized]:
    """The one recognizer that claims these shapes, and what it read; WeightsError naming what was seen otherwise."""
    claims: list[tuple[Recognizer, Recognized]] = []
    for rec in recognizers.values():
        try:
            found = rec.function()(shapes)
        except WeightsError as exc:  # its layout, in a form zoo cannot run (4 channels, say): the plugin says why
            raise WeightsError(f"'{where}' ({rec.name}): {exc}") from None
        except (KeyError, IndexError, ValueError, TypeError):  # a half-matching file: not this layout
            found = None
        if found is not None:
            if not isinstance(found, Recognized):
                raise PluginError(f"Recognizer '{rec.name}' returned {type(found).__name__}; expected "
                                  "zoo.Recognized or None.")
            claims.append((rec, found))
    if not claims:
        tried = ", ".join(sorted(recognizers)) or "(none installed)"
        raise WeightsError(f"'{where}' is no layout an installed plugin recognises (tried {tried}); it holds "
                           f"{summary(shapes)}. Install the plugin for its architecture, or check the file is a "
                           "super-resolution model's state dict.")
    if len(claims) > 1:
        names = ", ".join(f"{r.name} ({r.architecture})" for r, _ in claims)
        raise WeightsError(f"'{where}' is claimed by several recognizers: {names}; it holds {summary(shapes)}. "
                           "Disable all but one plugin with ZOO_DISABLE_PLUGINS=NAME.")
    return claims[0]


def unwrap(obj: Any, where: str) -> dict[str, Any]:
    """The state dict inside a checkpoint: a flat name → tensor mapping, from the common containers."""
    import torch

    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, Mapping):
        # trainers wrap the weights: BasicSR's params_ema (the averaged ones, preferred) / params, others'
        # state_dict / model; one nested state dict alone is taken whatever its name
        for key in ("params_ema", "params", "state_dict", "model", "net_g", "generator"):
            if isinstance(obj.get(key), Mapping):
                return unwrap(obj[key], where)
        nested = [v for v in obj.values() if isinstance(v, Mapping)]
        if len(nested) == 1:
            return unwrap(nested[0], where)
    kind = type(obj).__name__
    keys = ", ".join(map(str, list(obj)[:5])) if isinstance(obj, Mapping) else ""
    raise WeightsError(f"'{where}' holds a {kind}{f' with keys {keys}' if keys else ''}, not a state dict of tensors. "
                       "Expected a file saved with torch.save(model.state_dict()).")


def strip_prefix(tensors: dict[str, Any]) -> dict[str, Any]:
    """DataParallel's `module.` prefix removed when every key has it."""
    if tensors and all(k.startswith("module.") for k in tensors):
        return {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def apply(found: Recognized, tensors: dict[str, Any], where: str) -> dict[str, Any]:
    """The file's tensors in the architecture's own names (and converted, where the layout needs it)."""
    missing = [k for k in found.keys if k not in tensors]
    if missing:
        raise WeightsError(f"'{where}': the recognizer named tensors the file lacks ({', '.join(missing[:3])}).")
    renamed = {ours: tensors[theirs] for theirs, ours in found.keys.items()}
    if found.convert is not None:
        renamed = _resolve(found.convert, "Recognized.convert")(renamed, dict(found.hyperparameters))
    return renamed
