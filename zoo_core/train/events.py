"""What the trainer announces (on_step, on_validate, on_checkpoint, on_end) and the signals that stop it early."""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from ..errors import ConfigError

# callbacks get (state) at on_step and on_end, (state, result) at on_validate, (state, path) at on_checkpoint
EVENTS = ("on_step", "on_validate", "on_checkpoint", "on_end")


class Events:
    """Callbacks by event name, called in the order they were added."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[..., Any]]] = {name: [] for name in EVENTS}

    def add(self, event: str, fn: Callable[..., Any]) -> None:
        """Call fn(state, ...) at `event`."""
        if event not in self.callbacks:
            raise ConfigError(f"Unknown trainer event '{event}'; expected one of {', '.join(EVENTS)}.")
        self.callbacks[event].append(fn)

    def add_object(self, obj: object) -> None:
        """Register each on_* method an object has (any subset of the events), as the built-in callbacks do."""
        for event in EVENTS:
            fn = getattr(obj, event, None)
            if callable(fn):
                self.add(event, fn)

    def add_objects(self, objects: Iterable[object]) -> None:
        """add_object for each, in order."""
        for obj in objects:
            self.add_object(obj)

    def fire(self, event: str, *args: Any) -> None:
        """Call every callback of `event` with args."""
        for fn in self.callbacks[event]:
            fn(*args)


class StopRequest:
    """SIGTERM/SIGINT set a flag instead of killing the run, so the loop can checkpoint first."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self.signum = 0  # the signal that asked: `zoo train` exits 128 + it, as `zoo upscale` does
        self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}

    def _handle(self, signum: int, frame: object) -> None:
        self.requested, self.signum = True, signum

    def restore(self) -> None:
        """Put back the handlers that were there before."""
        for s, old in self._old.items():
            signal.signal(s, old)


@contextmanager
def stop_on_signals(enabled: bool) -> Iterator[StopRequest | None]:
    """A StopRequest while inside (None when not enabled); the previous handlers come back after."""
    stop = StopRequest() if enabled else None
    try:
        yield stop
    finally:
        if stop is not None:
            stop.restore()
