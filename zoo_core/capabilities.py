"""What a network (or a backend's runner) may offer beyond forward(): each optional capability, in one place.

A plugin's module offers a capability by having the members of its Protocol below; nothing is registered.
A built network's members are checked once, when `Architecture.create` builds it (`require`), so a member in
the wrong form fails there in one line naming the architecture, not deep inside the tiler or an exporter.
Everyone else asks through the functions here; nowhere else in zoo is a model probed with getattr
(tests/test_capabilities.py walks the source). This module imports no torch.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Protocol, runtime_checkable

from .errors import PluginError

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Handle(Protocol):
    """What prepare_image returns: released after the image's tiles ran."""

    def close(self) -> None:
        """Forget this image's statistics."""


@runtime_checkable
class ImageStatistics(Protocol):
    """A network with image-wide statistics (SE blocks averaging over the whole image: CUNet, Real-CUGAN).

    Before an image's tiles run, the tiler calls prepare_image with `tiles()`, an iterator of
    (CHW tile, (row, col) of its first pixel, owned rows, owned cols). A module whose prepare_image also takes
    `features=` (zoo_core.plugin_api.prepare_se_image does) can be gathered by the ncnn engine too.
    """

    def prepare_image(self, tiles: Callable[[], Iterator[tuple]], *, tta: bool) -> Handle:
        """Gather the image's statistics; the handle's close() forgets them."""


@runtime_checkable
class Checkpointable(Protocol):
    """A model with a gradient-checkpointed training forward (`optim.checkpointing: true`)."""

    def forward_checkpoint(self, x: torch.Tensor) -> torch.Tensor:
        """The same output as forward(x), recomputing activations in backward to save memory."""


@runtime_checkable
class Initialisable(Protocol):
    """A model with named starting points (`model.init: NAME` in a config)."""

    init_schemes: tuple[str, ...]

    def init_weights(self, scheme: str) -> None:
        """Set the weights to the named starting point."""


@runtime_checkable
class NcnnGraphCheck(Protocol):
    """A network that checks the weightless layers of an ncnn .param file it is converted from."""

    def check_ncnn_graph(self, layers: list[Any], where: str) -> None:
        """Raise zoo.WeightsError when a parsed layer (Interp factor, Crop offset...) does not match."""


@runtime_checkable
class NcnnLayer(Protocol):
    """A weightless submodule (or an fx-wrapped function) that names the ncnn layer it exports to."""

    def ncnn_layer(self, *constants: Any) -> tuple[str, Mapping[int, Any]]:
        """(ncnn layer type, its params) for these constant arguments."""


@runtime_checkable
class SEBlock(Protocol):
    """An image-wide squeeze-excitation block (see zoo_core/infer/image_se.py): settable gate and stop_here."""

    gate: Any
    stop_here: bool

    def excite(self, mean: torch.Tensor) -> torch.Tensor:
        """The gate for this image-wide mean."""


@runtime_checkable
class KeepsPixels(Protocol):
    """A runner that keeps tile runs between image-wide gathering passes (their memory enters the default tiling)."""

    keep_pixels: int


# (capability, member, what it must be, how to tell) for the members a built network is checked on
MEMBERS: tuple[tuple[type, str, str, Callable[[Any], bool]], ...] = (
    (ImageStatistics, "prepare_image", "a method prepare_image(tiles, *, tta[, features]) returning a handle "
     "with close()", callable),
    (Checkpointable, "forward_checkpoint", "a method forward_checkpoint(x)", callable),
    (NcnnGraphCheck, "check_ncnn_graph", "a method check_ncnn_graph(layers, where)", callable),
    (Initialisable, "init_schemes", "a tuple of scheme names",
     lambda v: isinstance(v, tuple) and all(isinstance(s, str) for s in v)),
)


def _member(obj: object, name: str) -> Any:
    """obj's member `name` when its capability is there in a callable form, else None."""
    value = getattr(obj, name, None)
    return value if callable(value) else None


def image_statistics(obj: object) -> Callable[..., Handle] | None:
    """obj's prepare_image (a network's or a runner's), or None when it has no image-wide statistics."""
    return _member(obj, "prepare_image") if isinstance(obj, ImageStatistics) else None


def gathers_with_features(obj: object) -> bool:
    """Whether obj's prepare_image takes `features=` (another engine can compute the feature maps)."""
    prepare = image_statistics(obj)
    if prepare is None:
        return False
    params = inspect.signature(prepare).parameters
    return "features" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def graph_check(obj: object) -> Callable[[list[Any], str], None] | None:
    """obj's check_ncnn_graph, or None."""
    return _member(obj, "check_ncnn_graph") if isinstance(obj, NcnnGraphCheck) else None


def ncnn_layer(obj: object) -> Callable[..., tuple[str, Mapping[int, Any]]] | None:
    """obj's ncnn_layer (a submodule's or an fx-wrapped function's), or None."""
    return _member(obj, "ncnn_layer") if isinstance(obj, NcnnLayer) else None


def is_se_block(obj: object) -> bool:
    """Whether obj declares itself an image-wide SE block: it has gate, stop_here and excite."""
    return isinstance(obj, SEBlock)


def kept_pixels(runner: object) -> int:
    """Input pixels of tile runs a gathering runner keeps between passes; 0 for a runner that keeps none."""
    kept = runner.keep_pixels if isinstance(runner, KeepsPixels) else 0
    return int(kept) if isinstance(kept, (int, float)) and kept > 0 else 0


def init_schemes(obj: object) -> tuple[str, ...]:
    """The named initialisations obj offers (empty: none)."""
    return tuple(obj.init_schemes) if isinstance(obj, Initialisable) else ()


def problems(arch_id: str, module: object) -> list[str]:
    """One line per capability member a built network has in the wrong form (zoo would fail on it later)."""
    found = []
    for _, name, expected, ok in MEMBERS:
        value = getattr(module, name, None)  # optional: absent is fine
        if value is not None and not ok(value):
            found.append(f"Architecture '{arch_id}': its module's {name} is {type(value).__name__}, expected "
                         f"{expected}. Fix: define it so, or remove it.")
    schemes = getattr(module, "init_schemes", ())
    if isinstance(schemes, tuple) and schemes and not callable(getattr(module, "init_weights", None)):
        found.append(f"Architecture '{arch_id}': its module lists init_schemes but has no init_weights(scheme). "
                     "Fix: add the method, or drop init_schemes.")
    return found


class CapabilityError(PluginError):
    """A built network offers a capability in the wrong form; `problems` holds one line each."""

    def __init__(self, lines: list[str]):
        super().__init__(" ".join(lines))
        self.problems = lines


def require(arch_id: str, module: Any) -> Any:
    """`module`, once its capability members are checked; raises CapabilityError naming each wrong one."""
    found = problems(arch_id, module)
    if found:
        raise CapabilityError(found)
    return module


def names() -> frozenset[str]:
    """Every member name a capability consists of (what the source test forbids probing elsewhere)."""
    protocols = (ImageStatistics, Checkpointable, Initialisable, NcnnGraphCheck, NcnnLayer, SEBlock, KeepsPixels)
    return frozenset(n for p in protocols for n in [*vars(p), *p.__annotations__] if not n.startswith("_"))
