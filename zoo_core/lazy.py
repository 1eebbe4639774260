"""Registered objects whose code imports torch: named now, imported on first real use (`zoo list` stays light)."""
from __future__ import annotations

import importlib
import threading
from typing import Any, Callable

from .errors import PluginError


def resolve(target: str) -> Any:
    """The object named by 'package.module:attribute', imported now."""
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{target!r} cannot be imported ({exc}). Expected 'package.module:attribute'; "
                          "fix the name or install what it needs.") from None


class LazyObject:
    """Stands for `target()` (a weight format or backend class): `name` and `description` are known without
    importing it; any other attribute imports the module and builds the object once."""

    def __init__(self, target: str, *, name: str, description: str = "") -> None:
        self.target, self.name, self.description = target, name, description
        self._object: Any = None
        self._lock = threading.Lock()

    def loaded(self) -> Any:
        """The real object, imported and built on first call."""
        with self._lock:
            if self._object is None:
                self._object = resolve(self.target)()
            return self._object

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.loaded(), attr)

    def __repr__(self) -> str:
        return f"LazyObject({self.target!r}, name={self.name!r})"


def lazy_function(target: str) -> Callable[..., Any]:
    """A function that imports 'package.module:function' when first called (a LossSpec's `create`, say)."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return resolve(target)(*args, **kwargs)

    call.__name__ = call.__qualname__ = target.rpartition(":")[2]
    call.__doc__ = f"Imports and calls {target}."
    return call
