"""What a model may offer the trainer beyond forward(): its own initialisations and a memory-saving forward."""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Protocol, runtime_checkable

from ..errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn


@runtime_checkable
class Initialisable(Protocol):
    """A model with named starting points (`model.init: NAME` in a config)."""

    init_schemes: tuple[str, ...]

    def init_weights(self, scheme: str) -> None:
        """Set the weights to the named starting point."""


@runtime_checkable
class Checkpointable(Protocol):
    """A model with a gradient-checkpointed training forward (`optim.checkpointing: true`)."""

    def forward_checkpoint(self, x: torch.Tensor) -> torch.Tensor:
        """The same output as forward(x), recomputing activations in backward to save memory."""


def init_weights(model: object, name: str, scheme: str) -> None:
    """Apply the model's own named initialisation; `name` (the architecture) is for the error."""
    schemes = tuple(model.init_schemes) if isinstance(model, Initialisable) else ()
    if scheme not in schemes:
        offered = ", ".join(schemes) or "none"
        raise ConfigError(f"model.init is '{scheme}', but architecture '{name}' offers: {offered}. "
                          "Remove model.init or pick one of those.")
    model.init_weights(scheme)  # type: ignore[union-attr]  # isinstance above: schemes is empty otherwise


def require_checkpointing(model: object, name: str) -> None:
    """optim.checkpointing needs the model's forward_checkpoint; `name` (the architecture) is for the error."""
    if not isinstance(model, Checkpointable):
        raise ConfigError(f"optim.checkpointing is true, but architecture '{name}' has no forward_checkpoint(x). "
                          "Set optim.checkpointing: false.")


@contextmanager
def checkpointed_forward(model: nn.Module, on: bool) -> Iterator[None]:
    """Inside (when on), model.forward is its forward_checkpoint (DDP calls module.forward); after, the class's."""
    if not on:
        yield
        return
    model.forward = model.forward_checkpoint  # type: ignore[method-assign]  # the Trainer checked it is there
    try:
        yield
    finally:
        del model.forward
