"""The other plugin interfaces: Degradation, Loss, WeightFormat and Backend."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from .errors import PluginError

if TYPE_CHECKING:  # annotations only: registering plugins must not import torch
    import torch
    from PIL import Image
    from torch import nn

    from .cards import Card


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


class WeightFormat:
    """Converts foreign weight files (ncnn, waifu2x JSON, ONNX…) into a state_dict: subclass it.

    `version` is part of every converted file's metadata: bump it when the same input would convert
    to different bytes. The registry refuses a format without a name, a version or a usable `convert`.
    """

    name: str = ""
    description: str = ""
    version: str = ""

    def convert(self, arch_id: str, module: nn.Module, paths: Sequence[Path]) -> ConvertedWeights:
        """Read `paths`, check them against `module` and return its state_dict."""
        raise NotImplementedError


class Runner:
    """A network prepared by a backend: CPU NCHW float32 in [0,1] → CPU NCHW float32; subclass it.

    The inferer takes `preferred_tile` (LR pixels per tile side; None: the whole image) and
    `preferred_batch` (tiles per call) when the user leaves them unset; `keep_pixels` is the input pixels of
    tile runs a runner keeps between image-wide gathering passes (their memory enters the default tiling).
    """

    preferred_tile: int | None = None
    preferred_batch: int = 1
    keep_pixels: int = 0

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Run one batch."""
        raise NotImplementedError


class Backend:
    """An inference engine (torch reference, a faster CPU engine…): subclass it.

    When no backend is named, zoo.load tries, by name, each backend whose `default_for` is true and whose
    `supports` says yes, then torch. The registry refuses a backend whose methods do not take these arguments.
    """

    name: str = ""
    description: str = ""

    def supports(self, card: Card, module: nn.Module, *, device: str, precision: str) -> str | None:
        """None when this backend can run `module` (built from `card`) on `device` in `precision`, else why not."""
        raise NotImplementedError

    def default_for(self, card: Card, *, device: str, precision: str) -> bool:
        """Whether it may run the card when no backend is named: only where it matches torch fp32 (one 8-bit level)."""
        return False

    def prepare(self, *, module: nn.Module, arch_id: str, device: str, precision: str, threads: int | None) -> Runner:
        """Return a runner for the loaded `module`."""
        raise NotImplementedError

    def working_set(self, card: Card) -> float | None:
        """One tile's peak memory over its widest fp32 feature map for the card's network on this engine (it sizes
        a CPU default tile within cost.TILE_BUDGET), from the engine's own hints; None: cost.WORKING_SET applies."""
        return None


# member -> (arguments a call passes, as a signature to bind; how to write it): checked when a plugin registers
_MEMBERS: dict[type, dict[str, tuple[tuple[Any, ...], dict[str, Any], str]]] = {
    WeightFormat: {"convert": (("a", None, []), {}, "convert(arch_id, module, paths)")},
    Backend: {
        "supports": ((None, None), {"device": "cpu", "precision": "fp32"},
                     "supports(card, module, *, device, precision) -> str | None"),
        "default_for": ((None,), {"device": "cpu", "precision": "fp32"}, "default_for(card, *, device, precision)"),
        "prepare": ((), {"module": None, "arch_id": "a", "device": "cpu", "precision": "fp32", "threads": None},
                    "prepare(*, module, arch_id, device, precision, threads)"),
    },
}


def _problem(obj: Any, kind: type) -> str | None:
    """What is wrong with `obj` as a `kind` (one phrase), or None."""
    if not isinstance(getattr(obj, "name", None), str) or not obj.name:
        return "has no 'name' (a non-empty str)"
    if kind is WeightFormat and (not isinstance(getattr(obj, "version", None), str) or not obj.version):
        return "has no 'version' (a non-empty str such as '1')"
    for member, (args, kwargs, text) in _MEMBERS[kind].items():
        try:
            inspect.signature(getattr(obj, member)).bind(*args, **kwargs)
        except (AttributeError, TypeError, ValueError):  # missing, not callable, or other parameters
            return f"has no method {text}"
    return None


def checked(obj: Any, kind: type) -> bool:
    """True when `obj` has what a `kind` (WeightFormat or Backend) needs; else PluginError saying what is missing."""
    problem = _problem(obj, kind)
    if problem:
        word = "weight format" if kind is WeightFormat else "backend"
        raise PluginError(f"{word} {getattr(obj, 'name', '?')!r} ({type(obj).__name__}) {problem}. "
                          f"Fix: subclass zoo_core.interfaces.{kind.__name__} "
                          "and define it.")
    return True
