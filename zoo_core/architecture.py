"""The descriptor every model plugin fills in: geometry, precision support and how to build it."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from torch import nn

from .errors import ZooError


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

    A hyperparameter named `scale` (if the builder takes one) overrides `scale`.
    """

    id: str
    build: Callable[..., nn.Module]
    scale: int
    offset: int
    context: int | Callable[[Mapping[str, Any]], int]  # or a function of the hyperparameters
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    supports_fp16: bool = True
    supports_bf16: bool = True
    default_card: str | None = None
    description: str = ""
    paper: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ZooError(f"Architecture id must be a non-empty string, got {self.id!r}.")
        if isinstance(self.context, int) and self.context < self.offset:
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
        return {**self.hyperparameters, **given}

    def geometry(self, hyperparameters: Mapping[str, Any] | None = None) -> Geometry:
        """The geometry for these hyperparameters."""
        hp = self.resolve_hyperparameters(hyperparameters)
        return Geometry(
            scale=int(hp.get("scale", self.scale)),
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            offset=self.offset,
            context=int(self.context(hp) if callable(self.context) else self.context),
            size_multiple=self.size_multiple,
        )

    def create(self, hyperparameters: Mapping[str, Any] | None = None) -> nn.Module:
        """Build the module with defaults + given hyperparameters (passed by keyword)."""
        hp = self.resolve_hyperparameters(hyperparameters)
        return self.build(**hp)


def check_keyword_only(arch: Architecture) -> None:
    """Builders must take hyperparameters by keyword so that a typo fails."""
    try:
        sig = inspect.signature(arch.build)
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
