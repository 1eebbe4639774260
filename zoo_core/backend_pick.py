"""Which backend runs a card: by name, or the default-eligible ones then torch (a leaf below api and import checks)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .cards import Card
from .errors import ZooError
from .interfaces import Backend, checked
from .lazy import LazyObject
from .registry import get_registry

if TYPE_CHECKING:
    import torch


def backend_named(name: str) -> Backend:
    """The registered backend, imported now if it is a built-in, and checked."""
    return _loaded(get_registry().backend(name), Backend)


def _loaded(obj: Any, kind: type) -> Any:
    real = obj.loaded() if isinstance(obj, LazyObject) else obj
    checked(real, kind)  # a lazily registered object is first seen here
    return real


def _usable(name: str, card: Card, module: torch.nn.Module, device: str, precision: str) -> Backend:
    chosen = backend_named(name)
    reason = chosen.supports(card, module, device=device, precision=precision)
    if reason:
        raise ZooError(f"Backend '{chosen.name}' cannot run '{card.name}' on {device} in {precision}: {reason}. "
                       + ("Use another --device or --precision." if chosen.name == "torch" else
                          "Use --backend torch (the reference), or another --device or --precision."))
    return chosen


def pick_backends(card: Card, module: torch.nn.Module, device: str, precision: str,
                  backend: str | None) -> list[Backend]:
    """The named backend; by default every one (by name) whose `default_for` and `supports` agree, then torch.

    A backend declares itself default-eligible only where it matches torch fp32 to within one 8-bit
    level; `backend="torch"` always forces the reference. A named backend that cannot run the card: ZooError.
    """
    if backend is not None:
        return [_usable(backend, card, module, device, precision)]
    auto = []
    for name in sorted(set(get_registry().backends) - {"torch"}):  # the reference closes the list
        b = backend_named(name)
        if not b.default_for(card, device=device, precision=precision):
            continue
        reason = b.supports(card, module, device=device, precision=precision)
        if reason is None:
            auto.append(b)
        else:  # expected (a card the fast engine cannot express): the next backend runs it
            logging.getLogger("zoo").debug("backend '%s' skipped for '%s': %s", name, card.name, reason)
    return auto + [_usable("torch", card, module, device, precision)]
