"""How the trainer uses what a model may offer beyond forward() (declared in zoo_core/capabilities.py)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from ..capabilities import Checkpointable, Initialisable, init_schemes
from ..errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Checkpointable", "Initialisable", "checkpointed_forward", "init_weights", "require_checkpointing"]


def init_weights(model: object, name: str, scheme: str) -> None:
    """Apply the model's own named initialisation; `name` (the architecture) is for the error."""
    schemes = init_schemes(model)
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
