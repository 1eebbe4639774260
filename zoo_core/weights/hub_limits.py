"""Bounds on one Hub download, in time and in bytes.

huggingface_hub times out a single read and retries, but sets no total: a server that trickles 64 bytes a
second, answers nothing, or announces 10 GB and then stalls can hold `zoo fetch` for minutes. zoo adds two
httpx event hooks to huggingface_hub's own client (`set_client_factory`): each request may wait at most what
is left of the download's time, and each response body is counted as it arrives. Outside `bounded()` the
hooks do nothing, so other users of the client (`zoo push`) are untouched.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator

ENV_TIMEOUT = "ZOO_HUB_TIMEOUT"
DEFAULT_TIMEOUT = 30.0  # seconds for the Hub to answer, plus the time the file's size needs at MIN_RATE
MIN_RATE = 100_000  # bytes a second: slower than this, the upstream rebuild is the better way


class HubLimitError(Exception):
    """A download over its time or its expected size (not an httpx error: huggingface_hub neither retries it
    nor takes it for a network failure to fall back from)."""


@dataclass
class Budget:
    """What one download may take: `timeout` seconds from `start` plus its announced size at MIN_RATE, and at
    most `max_bytes`."""

    start: float
    timeout: float
    max_bytes: int
    size: int = 0  # the largest size a response announced (within max_bytes)

    def left(self) -> float:
        """Seconds left; HubLimitError once none are."""
        allowed = self.timeout + self.size / MIN_RATE
        left = self.start + allowed - time.monotonic()
        if left <= 0:
            raise HubLimitError(f"the Hub did not deliver the file within {allowed:.0f} s (a stalled or very slow "
                                f"server; {ENV_TIMEOUT} sets the seconds it may take besides the transfer itself)")
        return left

    def check_size(self, size: int, said: str) -> None:
        """HubLimitError when `size` bytes exceed what the file can be."""
        if size > self.max_bytes:
            raise HubLimitError(f"the server {said} {size:,} bytes, more than the {self.max_bytes:,} that weights of "
                                "this model can take")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("zoo_hub_budget", default=None)
_INSTALLED: list[bool] = []


def timeout_setting() -> float:
    """$ZOO_HUB_TIMEOUT (seconds), checked, or the default."""
    from ..numbers import env_number

    return float(env_number(ENV_TIMEOUT, DEFAULT_TIMEOUT, kind=float, lo=0.1, hi=86400))


@contextlib.contextmanager
def bounded(max_bytes: int) -> Iterator[Budget]:
    """Within the block, huggingface_hub's requests share one budget (time and bytes)."""
    _install()
    budget = Budget(start=time.monotonic(), timeout=timeout_setting(), max_bytes=max_bytes)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _install() -> None:
    """Wrap huggingface_hub's client factory once, adding the two hooks."""
    if _INSTALLED:
        return
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import _http

    plain = _http.default_client_factory

    def factory() -> Any:
        client = plain()
        hooks = client.event_hooks
        client.event_hooks = {"request": [*hooks["request"], _on_request], "response": [*hooks["response"], _on_response]}
        return client

    set_client_factory(factory)
    _INSTALLED.append(True)


def _on_request(request: Any) -> None:
    """Each wait of this request (connect, read, write, pool) at most the time left."""
    budget = _BUDGET.get()
    if budget is None:
        return
    left = budget.left()
    given = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {k: min(given.get(k) or math.inf, left) for k in ("connect", "read", "write", "pool")}


def _on_response(response: Any) -> None:
    """Refuse a size announced beyond the budget at once; count the body as it arrives."""
    budget = _BUDGET.get()
    if budget is None:
        return
    for header in ("Content-Length", "X-Linked-Size"):
        value = response.headers.get(header, "")
        if value.strip().isdigit() and len(value.strip()) < 30:
            budget.check_size(int(value), f"announces ({header})")
            budget.size = max(budget.size, int(value))  # the transfer's own time is allowed for
    response.stream = _Counted(response.stream, budget)


def _counted_base() -> type:
    import httpx2

    return httpx2.SyncByteStream


class _Counted(_counted_base()):  # type: ignore[misc]
    """A response body that stops at the budget's deadline or byte count."""

    def __init__(self, inner: Any, budget: Budget) -> None:
        self.inner, self.budget, self.got = inner, budget, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.got += len(chunk)
            self.budget.check_size(self.got, "sent")
            self.budget.left()
            yield chunk

    def close(self) -> None:
        self.inner.close()


def max_download_bytes(parameters: int | None) -> int:
    """What a safetensors file of a network with this many parameters can take: fp32 (or int64 buffers at twice
    that), plus room for the header; a fixed 2 GiB when the count is unknown."""
    return 2 << 30 if parameters is None else 8 * parameters + (1 << 20)
