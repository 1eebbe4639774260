"""The ncnn exporter's building blocks, shared by ncnn_export and ncnn_resample (so neither imports the other)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ZooError


class UnsupportedModule(ZooError):
    """The module uses something the ncnn exporter cannot express."""


@dataclass
class Layer:
    """One ncnn layer: type, name, input/output blob names, params (id → value) and its weights."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, object] = field(default_factory=dict)
    weights: list[tuple[np.ndarray, bool]] = field(default_factory=list)  # (array, tagged?)
