"""The ncnn backend's own hints about an architecture, which plugins give through the `register_engine_hints` hook.

Only this engine reads them (the generic Architecture descriptor carries no engine's figures):

    @zoo.hookimpl
    def register_engine_hints(register):
        register(zoo.plugin.NcnnHints(architecture="mynet", working_set=14))

`working_set` is one ncnn tile's peak memory over its widest fp32 feature map (benchmarks/probe_working_set.py
measures it), or a function of the hyperparameters; it sizes the CPU default tile within cost.TILE_BUDGET. An
architecture without hints is charged cost.WORKING_SET (24, the high end measured). No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from ..errors import ZooError

WORKING_SET_EXPECTED = ("a number from 1 to 1000 (benchmarks/probe_working_set.py measures it), a function of the "
                        "hyperparameters or None")


def working_set_ok(value: Any) -> bool:
    """Whether `value` is a working-set factor: a number from 1 to 1000."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= 1000


@dataclass(frozen=True, kw_only=True)
class NcnnHints:
    """What the ncnn backend should know about one architecture's networks."""

    engine: ClassVar[str] = "ncnn"
    architecture: str
    working_set: float | Callable[[Mapping[str, Any]], float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.architecture, str) or not self.architecture:
            raise ZooError(f"NcnnHints: architecture must be a registered architecture id, got {self.architecture!r:.60}. "
                           "Fix: give architecture='your-arch-id'.")
        value = self.working_set
        if not (value is None or callable(value) or working_set_ok(value)):
            raise ZooError(f"Architecture '{self.architecture}': working_set must be {WORKING_SET_EXPECTED}, got "
                           f"{value!r:.60}. Fix: give working_set= {WORKING_SET_EXPECTED}.")

    @property
    def name(self) -> str:
        """The key the registry keeps these hints under: 'ncnn:ARCH'."""
        return f"{self.engine}:{self.architecture}"


def hints_for(arch_id: str) -> NcnnHints | None:
    """The hints a plugin gave for `arch_id`, or None."""
    from ..registry import get_registry

    found = get_registry().engine_hints.get(f"{NcnnHints.engine}:{arch_id}")
    return found if isinstance(found, NcnnHints) else None


def working_set(arch_id: str, hyperparameters: Mapping[str, Any], hints: NcnnHints | None = None) -> float | None:
    """The working-set factor for these (resolved) hyperparameters, or None where no plugin declared one."""
    hints = hints if hints is not None else hints_for(arch_id)
    value = hints.working_set if hints is not None else None
    if callable(value):
        value = value(hyperparameters)
        if not working_set_ok(value):
            raise ZooError(f"Architecture '{arch_id}': its working_set function must give a number from 1 to 1000, "
                           f"got {value!r:.40}. Fix: the plugin's working_set (benchmarks/probe_working_set.py).")
    return None if value is None else float(value)
