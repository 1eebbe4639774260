"""One budget of output pixels for everything the server computes at once (jobs and comparison images), so that
many requests together cannot take the machine's memory: each waits its turn, a bounded number of them."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from ..errors import ZooError


class Busy(ZooError):
    """The server has no room for this work now (HTTP 503)."""


class PixelBudget:
    """Output pixels in flight; a piece larger than the whole budget runs alone."""

    def __init__(self, total: int, max_waiting: int) -> None:
        self.total, self.max_waiting = max(1, int(total)), max(0, int(max_waiting))
        self.used = self.peak = self.waiting = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, pixels: int, *, timeout: float | None = None, queued: bool = False) -> Iterator[None]:
        """Hold `pixels` of the budget while inside; Busy when too many wait or `timeout` passes first (a `queued`
        job, already counted by the job queue, always waits its turn)."""
        need = min(max(1, int(pixels)), self.total)
        with self._cond:
            if self.used + need > self.total and self.waiting >= self.max_waiting and not queued:
                raise Busy(f"The server is busy ({self.waiting} requests waiting). Try again in a moment.")
            self.waiting += 1
            try:
                if not self._cond.wait_for(lambda: self.used + need <= self.total, timeout):
                    raise Busy("The server is busy; this request waited too long. Try again in a moment.")
            finally:
                self.waiting -= 1
            self.used += need
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._cond:
                self.used -= need
                self._cond.notify_all()
