"""The descriptor every model plugin fills in: geometry, precision support and how to build it."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import capabilities
from .builder_params import BuilderParams, check_params, from_callable, from_source
from .errors import ZooError

if TYPE_CHECKING:  # torch is imported where a network is built, not to list or describe models
    from torch import nn


@dataclass(frozen=True, kw_only=True)
class Geometry:
    """What the tiler and trainer need to know about a built network."""

    scale: int
    in_channels: int
    out_channels: int
    offset: int  # input pixels per side the network itself consumes (UpConv_7: 7; same-padded: 0)
    context: int  # input pixels per side of real context a tile needs (receptive-field radius)
    size_multiple: int = 1  # input sides must be a multiple of this (1: any size)


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """An architecture: `build(**hyperparameters)` returns the nn.Module.

    `build` may be a "module:function" string, imported on first use, so that registering the
    architecture (and `zoo list`) does not import torch. The hyperparameters and their defaults are the
    builder's keyword-only parameters (read from its source, not imported); `hyperparameters=` overrides
    those defaults and must name the same parameters. A hyperparameter named `scale` (if the builder takes
    one) overrides `scale`. offset, context and size_multiple may be functions of the hyperparameters
    (one architecture whose scales consume different margins, e.g. Real-CUGAN 2x/3x/4x).
    """

    id: str
    build: Callable[..., nn.Module] | str
    scale: int
    offset: int | Callable[[Mapping[str, Any]], int]  # or a function of the hyperparameters
    context: int | Callable[[Mapping[str, Any]], int]  # or a function of the hyperparameters
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int | Callable[[Mapping[str, Any]], int] = 1
    hyperparameters: Mapping[str, Any] | None = None  # None: the builder's keyword-only defaults
    supports_fp16: bool = True
    supports_bf16: bool = True
    default_card: str | None = None
    description: str = ""
    paper: str = ""
    # The task fields (besides scale) its cards are told apart by, and the values each may take, e.g.
    # {"style": ("art", "photo"), "noise_level": (-1, 0, 1, 2, 3)}; empty: cards may use any.
    variants: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    # (an engine's figures, such as ncnn's working set, are that engine's hints: register_engine_hints)
    # (lowest, highest) an integer hyperparameter may take, e.g. {"channels": (1, 2048)}; others: int_bounds()
    limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    _defaults: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)  # filled once

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ZooError(f"Architecture id must be a non-empty string, got {self.id!r}.")
        check_fields(self)
        for key, values in dict(self.variants).items():
            if not isinstance(key, str) or not isinstance(values, (tuple, list)) or not values:
                raise ZooError(f"Architecture '{self.id}': variants must map a field name to a non-empty tuple of "
                               f"values, got {key!r}: {values!r:.60}. Fix: e.g. variants={{'style': ('art', 'photo')}}.")
        if isinstance(self.context, int) and isinstance(self.offset, int) and self.context < self.offset:
            raise ZooError(
                f"Architecture '{self.id}': context ({self.context}) must be >= offset ({self.offset})."
            )

    def defaults(self) -> dict[str, Any]:
        """The default hyperparameters: `hyperparameters=` if given, else the builder's keyword-only defaults."""
        if "value" not in self._defaults:
            if self.hyperparameters is not None:
                self._defaults["value"] = dict(self.hyperparameters)
            else:
                params = self._params()
                if params is None:
                    raise ZooError(f"Architecture '{self.id}': the signature of build {self.build!r} cannot be read "
                                   "without importing it (not a top-level def). Fix: pass hyperparameters={...}.")
                check_params(self.id, self._target(), params, None)
                self._defaults["value"] = dict(params.defaults)
        return dict(self._defaults["value"])

    def check(self) -> None:
        """What registration checks: a keyword-only builder whose parameters are the hyperparameters."""
        params = self._params()
        if params is not None:
            given = None if self.hyperparameters is None else dict(self.hyperparameters)
            check_params(self.id, self._target(), params, given)
        scale = self.defaults().get("scale", self.scale)
        if scale != self.scale:
            raise ZooError(f"Architecture '{self.id}' says scale={self.scale} but its default hyperparameter scale is "
                           f"{scale!r}. Fix: make them agree (the hyperparameter overrides scale per card).")
        self.geometry()  # offset/context functions run once at their defaults: a broken one is a registration problem

    def _params(self) -> BuilderParams | None:
        """The builder's parameters: from the function, or read from the source of "module:function"."""
        return from_source(self.id, self.build) if isinstance(self.build, str) else from_callable(self.build)

    def _target(self) -> str:
        """The builder, named for messages."""
        return self.build if isinstance(self.build, str) else getattr(self.build, "__qualname__", repr(self.build))

    def resolve_hyperparameters(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with `given`; an unknown name is an error that lists the known ones."""
        given, defaults = dict(given or {}), self.defaults()
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ZooError(
                f"Architecture '{self.id}' has no hyperparameter {', '.join(map(repr, unknown))}. "
                f"Known: {', '.join(sorted(defaults)) or '(none)'}."
            )
        return {**defaults, **{k: self._checked(defaults[k], k, v) for k, v in given.items()}}

    def _checked(self, default: Any, key: str, value: Any) -> Any:
        """A given hyperparameter of the default's kind: whole numbers from 0, finite numbers, booleans."""
        from .numbers import number

        field_name = f"Architecture '{self.id}': hyperparameters.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ZooError(f"{field_name} must be true or false, got {value!r:.40}.")
            return value
        if isinstance(default, int):
            lo, hi = self.limits.get(key) or int_bounds(default)
            return number(field_name, value, lo=lo, hi=hi, text=False, hint=f"The default is {default}.")
        if isinstance(default, float):
            return number(field_name, value, kind=float, text=False)
        return value

    def geometry(self, hyperparameters: Mapping[str, Any] | None = None) -> Geometry:
        """The geometry for these hyperparameters; a plugin's function that raises or gives an absurd value is
        one ZooError naming the architecture (tiles carry `context` pixels: 10**9 would ask for gigabytes)."""
        hp = self.resolve_hyperparameters(hyperparameters)
        return Geometry(
            scale=self._measure("scale", hp.get("scale", self.scale), hp, 1, 64),
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            offset=self._measure("offset", self.offset, hp, 0, MAX_REACH),
            context=self._measure("context", self.context, hp, 0, MAX_REACH),
            size_multiple=self._measure("size_multiple", self.size_multiple, hp, 1, MAX_REACH),
        )

    def _measure(self, name: str, value: Any, hp: dict[str, Any], lo: int, hi: int) -> int:
        """One geometry field (a number, or a function of the hyperparameters), checked to be whole and in range."""
        try:
            got = value(hp) if callable(value) else value
        except Exception as exc:  # the plugin's function: its failure is named, never a traceback
            raise ZooError(f"Architecture '{self.id}': {name}(hyperparameters) raised {type(exc).__name__}: "
                           f"{str(exc)[:200]}. Fix the plugin's {name}=.") from None
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if isinstance(got, bool) or not hasattr(got, "__index__") or not lo <= int(got) <= hi:
            raise ZooError(f"Architecture '{self.id}': {name} must be a whole number from {lo} to {hi}, got "
                           f"{got!r:.40}. Fix the plugin's {name}=.")
        return int(got)

    def builder(self) -> Callable[..., nn.Module]:
        """The build function, imported now if it was given as "module:function" (and checked once imported)."""
        if callable(self.build):
            return self.build
        module, _, name = self.build.partition(":")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ZooError(f"Architecture '{self.id}': build {self.build!r} cannot be imported ({exc}). "
                           "Expected 'package.module:function'; fix the string or install the plugin.") from None
        params = from_callable(found)
        if params is not None:  # a builder the source reading could not see (re-exported, compiled) is checked here
            check_params(self.id, self.build, params, None if self.hyperparameters is None else self.defaults())
        return found

    def create(self, hyperparameters: Mapping[str, Any] | None = None) -> nn.Module:
        """Build the module with defaults + given hyperparameters (passed by keyword); its capabilities checked."""
        hp = self.resolve_hyperparameters(hyperparameters)
        return capabilities.require(self.id, self.builder()(**hp))


MAX_REACH = 4096  # offset/context/size_multiple in input pixels: the widest shipped context is 349 (RRDBNet)
INT_GROWTH = 8  # an undeclared integer hyperparameter may be up to 8x its default (at least 64): width, depth, scale


def int_bounds(default: int) -> tuple[int, int]:
    """The range of an integer hyperparameter the architecture declares no `limits` for: 1 (0 when its default
    is 0) to 8x its default, at least 64.

    Wide enough for the usual variants of a family (channels 32 -> 256, RRDB blocks 1 -> 64), narrow enough that a card or
    flag cannot ask for a network that takes the machine's memory or minutes to describe (channels 1e6, units 1e6);
    a plugin whose family needs more declares limits={'channels': (1, 2048)}.
    """
    return (1 if default >= 1 else 0), max(64, INT_GROWTH * default)


def check_fields(arch: Architecture) -> None:
    """Each field of the kind it is declared as: a wrong one is one line naming it, not a later traceback."""
    def fail(name: str, expected: str) -> None:
        raise ZooError(f"Architecture '{arch.id}': {name} must be {expected}, got {getattr(arch, name)!r:.60}. "
                       f"Fix: give {name}= {expected}.")

    def whole(value: Any, lo: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= lo

    if not callable(arch.build) and not (isinstance(arch.build, str) and ":" in arch.build):
        fail("build", "a callable or a 'package.module:function' string")
    for name in ("scale", "in_channels", "out_channels"):
        if not whole(getattr(arch, name), 1):
            fail(name, "a whole number from 1")
    for name, lo in (("offset", 0), ("context", 0), ("size_multiple", 1)):
        if not (callable(getattr(arch, name)) or whole(getattr(arch, name), lo)):
            fail(name, f"a whole number from {lo} or a function of the hyperparameters")
    for name in ("supports_fp16", "supports_bf16"):
        if not isinstance(getattr(arch, name), bool):
            fail(name, "True or False")
    for name in ("description", "paper"):
        if not isinstance(getattr(arch, name), str):
            fail(name, "a string")
    if not isinstance(arch.limits, Mapping) or not all(
            isinstance(v, tuple) and len(v) == 2 and all(whole(x, 0) for x in v) and v[0] <= v[1]
            for v in arch.limits.values()):
        fail("limits", "a mapping of hyperparameter names to (lowest, highest) whole numbers")
    if arch.default_card is not None and not isinstance(arch.default_card, str):
        fail("default_card", "a card name (a string) or None")
    hp = arch.hyperparameters
    if hp is not None and not (isinstance(hp, Mapping) and all(isinstance(k, str) for k in hp)):
        fail("hyperparameters", "a mapping of names to defaults, or left out (the builder's defaults)")
