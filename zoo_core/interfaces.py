"""The other plugin interfaces: Degradation, Loss, WeightFormat and Backend."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

if TYPE_CHECKING:  # annotations only: registering plugins must not import torch
    import torch
    from PIL import Image
    from torch import nn


class Degradation(Protocol):
    """HR image → (LR input, HR target); deterministic for a given seed."""

    name: str

    def __call__(self, hr: Image.Image, *, scale: int, seed: int) -> tuple[Image.Image, Image.Image]:
        """Return the LR input and the HR target it pairs with."""
        ...


@dataclass(frozen=True, kw_only=True)
class DegradationSpec:
    """A registered degradation: `create(**options)` returns a Degradation."""

    name: str
    create: Callable[..., Degradation]
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class LossSpec:
    """A registered loss: `create(**options)` returns `(prediction, target) -> scalar tensor`."""

    name: str
    create: Callable[..., Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class ConvertedWeights:
    """A converter's result: a state_dict for the architecture plus provenance metadata."""

    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, str] = field(default_factory=dict)


class WeightFormat(Protocol):
    """Converts foreign weight files (ncnn, waifu2x JSON, ONNX…) into a state_dict."""

    name: str
    description: str

    def convert(self, arch_id: str, module: nn.Module, paths: Sequence[Path]) -> ConvertedWeights:
        """Read `paths`, check them against `module` and return its state_dict."""
        ...


class Runner(Protocol):
    """A network prepared by a backend: CPU NCHW float32 in [0,1] → CPU NCHW float32.

    Optional attributes the inferer reads when the user leaves them unset: `preferred_tile` (int, LR
    pixels per tile side) and `preferred_batch` (int, tiles per call).
    """

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


class Backend(Protocol):
    """An inference engine (torch reference, a faster CPU engine…).

    Optional: `default_for(*, arch_id, device, precision) -> bool`; when no backend is named, the first
    (by name) that returns True runs the model, else torch.
    """

    name: str
    description: str

    def supports(self, *, arch_id: str, device: str, precision: str) -> bool:
        """Whether this backend can run this architecture on this device and precision."""
        ...

    def prepare(
        self, *, module: nn.Module, arch_id: str, device: str, precision: str, threads: int | None
    ) -> Runner:
        """Return a runner for the loaded `module`."""
        ...
