"""The descriptor every model plugin fills in: geometry, precision support and how to build it."""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

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
    architecture (and `zoo list`) does not import torch. A hyperparameter named `scale` (if the
    builder takes one) overrides `scale`. offset, context and size_multiple may be functions of the
    hyperparameters (one architecture whose scales consume different margins, e.g. Real-CUGAN 2x/3x/4x).
    """

    id: str
    build: Callable[..., nn.Module] | str
    scale: int
    offset: int | Callable[[Mapping[str, Any]], int]  # or a function of the hyperparameters
    context: int | Callable[[Mapping[str, Any]], int]  # or a function of the hyperparameters
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int | Callable[[Mapping[str, Any]], int] = 1
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    supports_fp16: bool = True
    supports_bf16: bool = True
    default_card: str | None = None
    description: str = ""
    paper: str = ""
    # The task fields (besides scale) its cards are told apart by, and the values each may take, e.g.
    # {"style": ("art", "photo"), "noise_level": (-1, 0, 1, 2, 3)}; empty: cards may use any.
    variants: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ZooError(f"Architecture id must be a non-empty string, got {self.id!r}.")
        for key, values in dict(self.variants).items():
            if not isinstance(key, str) or not isinstance(values, (tuple, list)) or not values:
                raise ZooError(f"Architecture '{self.id}': variants must map a field name to a non-empty tuple of "
                               f"values, got {key!r}: {values!r:.60}. Fix: e.g. variants={{'style': ('art', 'photo')}}.")
        if isinstance(self.context, int) and isinstance(self.offset, int) and self.context < self.offset:
            raise ZooError(
                f"Architecture '{self.id}': context ({self.context}) must be >= offset ({self.offset})."
            )

    def resolve_hyperparameters(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with `given`; an unknown name is an error that lists the known ones."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.hyperparameters))
        if unknown:
            raise ZooError(
                f"Architecture '{self.id}' has no hyperparameter {', '.join(map(repr, unknown))}. "
                f"Known: {', '.join(sorted(self.hyperparameters)) or '(none)'}."
            )
        return {**self.hyperparameters, **{k: self._checked(k, v) for k, v in given.items()}}

    def _checked(self, key: str, value: Any) -> Any:
        """A given hyperparameter of the default's kind: whole numbers from 0, finite numbers, booleans."""
        from .numbers import number

        default, field_name = self.hyperparameters[key], f"Architecture '{self.id}': hyperparameters.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ZooError(f"{field_name} must be true or false, got {value!r:.40}.")
            return value
        if isinstance(default, int):
            return number(field_name, value, lo=0, hi=1_000_000, text=False)
        if isinstance(default, float):
            return number(field_name, value, kind=float, text=False)
        return value

    def geometry(self, hyperparameters: Mapping[str, Any] | None = None) -> Geometry:
        """The geometry for these hyperparameters."""
        hp = self.resolve_hyperparameters(hyperparameters)
        return Geometry(
            scale=int(hp.get("scale", self.scale)),
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            offset=int(self.offset(hp) if callable(self.offset) else self.offset),
            context=int(self.context(hp) if callable(self.context) else self.context),
            size_multiple=int(self.size_multiple(hp) if callable(self.size_multiple) else self.size_multiple),
        )

    def builder(self) -> Callable[..., nn.Module]:
        """The build function, imported now if it was given as "module:function"."""
        if callable(self.build):
            return self.build
        module, _, name = self.build.partition(":")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ZooError(f"Architecture '{self.id}': build {self.build!r} cannot be imported ({exc}). "
                           "Expected 'package.module:function'; fix the string or install the plugin.") from None
        check_keyword_only(self, found)
        return found

    def create(self, hyperparameters: Mapping[str, Any] | None = None) -> nn.Module:
        """Build the module with defaults + given hyperparameters (passed by keyword)."""
        hp = self.resolve_hyperparameters(hyperparameters)
        return self.builder()(**hp)


def check_keyword_only(arch: Architecture, build: Callable[..., Any] | None = None) -> None:
    """Builders must take hyperparameters by keyword so that a typo fails (a string is checked when imported)."""
    build = build or arch.build
    if isinstance(build, str):
        if ":" not in build:
            raise ZooError(f"Architecture '{arch.id}': build {build!r} must be a callable or 'module:function'.")
        return
    try:
        sig = inspect.signature(build)
    except (TypeError, ValueError):
        return
    positional = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    ]
    if positional:
        raise ZooError(
            f"Architecture '{arch.id}': builder parameters {positional} must be keyword-only "
            "(put a '*' first in the signature)."
        )
