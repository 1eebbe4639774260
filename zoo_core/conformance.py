"""What can only be checked on a built network: its receptive field against the declared `context`, and the
capabilities it offers (zoo_core/capabilities.py: prepare_image, init_schemes, forward_checkpoint, ...)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .architecture import Architecture, Geometry
from .capabilities import CapabilityError, image_statistics
from .capabilities import problems as capability_problems
from .errors import ZooError

if TYPE_CHECKING:  # torch is imported where a network is built, here included
    import torch
    from torch import nn

MAX_CONTEXT = 512  # a receptive radius beyond this is reported rather than measured (the input would be huge)


def measure_context(arch: Architecture, hp: Mapping[str, Any] | None = None) -> int:
    """The receptive-field radius in input pixels per side: how far one changed pixel reaches the output.

    Pixels near two corners are changed one at a time, one per phase of the network's stride grid
    (size_multiple), and the farthest output each moves (towards the far corner) is measured; the input
    grows until that stays inside it.
    """
    geo = arch.geometry(hp)
    module = _positive_network(arch, hp)
    reach, phases = max(geo.context, 4), geo.size_multiple
    while True:
        n = reach + geo.offset + phases + 1  # a field within reach leaves the far output row untouched
        n += (-n) % phases
        measured = _radius(module, n, geo, phases)
        if measured is None:
            raise ZooError(f"Architecture '{arch.id}': changing one input pixel changed no output pixel, so its "
                           "receptive field cannot be measured. Fix: make the output depend on the input.")
        if not measured[1]:  # the farthest change stayed inside the output: measured
            return measured[0]
        if reach >= MAX_CONTEXT:
            raise ZooError(f"Architecture '{arch.id}': its receptive field reaches past {MAX_CONTEXT} input pixels "
                           "per side, so tiles cannot be exact. Fix: make the network local (no image-wide "
                           "operations except through prepare_image).")
        reach = min(2 * reach, MAX_CONTEXT)


def check_context(arch: Architecture, hp: Mapping[str, Any] | None = None, needed: int | None = None) -> str | None:
    """A one-line problem when the declared context is less than the (measured) receptive field, else None."""
    declared = arch.geometry(hp).context
    needed = measure_context(arch, hp) if needed is None else needed
    if needed <= declared:  # more than needed only costs some speed
        return None
    where = "" if not hp else f" (hyperparameters {dict(hp)})"
    return (f"Architecture '{arch.id}' declares context {declared}{where} but its receptive field needs {needed} "
            f"input pixels per side; set context={needed}.")


def check_members(arch: Architecture, module: nn.Module) -> list[str]:
    """One line per capability a built module offers in the wrong form (zoo would fail on it later)."""
    return capability_problems(arch.id, module)


def check_architecture(arch: Architecture) -> list[str]:
    """Everything a built network (default hyperparameters) can show: members, then context."""
    try:  # create checks the capabilities (zoo_core/capabilities.py) of what it builds
        arch.create()
    except CapabilityError as exc:
        return exc.problems  # the context cannot be measured through a malformed prepare_image
    context = check_context(arch)
    return [context] if context else []


def _positive_network(arch: Architecture, hp: Mapping[str, Any] | None) -> nn.Module:
    """The network in float64 with positive weights (averaging ones, zero-initialised included) and no biases.

    On a zero image every activation is then 0 and a changed pixel only adds: nothing cancels it and nothing
    larger absorbs it, so however small a far path's share (3^-L after L layers) it still leaves a non-zero
    output, while outputs outside the field stay exactly 0.
    """
    import torch

    generator = torch.Generator().manual_seed(0)
    module = arch.create(hp).double().eval()
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype).abs() / p[0].numel())
            else:  # biases vanish (a zero image stays zero); scales and slopes become 1 (nothing is silenced)
                p.fill_(0.0 if name.endswith("bias") else 1.0)
    return module


def _radius(module: nn.Module, n: int, geo: Geometry, phases: int) -> tuple[int, bool] | None:
    """(farthest input distance at which a change near a corner of an n×n input moves the output, whether
    that reached the opposite side of the output); None if nothing moved."""
    import torch

    x = torch.zeros(1, geo.in_channels, n, n, dtype=torch.float64)
    farthest, at_edge = None, False
    with _frozen_statistics(module, x), torch.no_grad():
        base = module(x)
        for p in [k for k in range(phases)] + [n - 1 - k for k in range(phases)]:  # each stride phase, both corners
            y = x.clone()
            y[:, :, p, p] = 1.0
            changed = (module(y) != base).any(dim=1)[0]  # exact: outside the field the same numbers are computed
            if not changed.any():
                continue
            owners = torch.cat([torch.nonzero(changed.any(dim=d)).flatten() for d in (1, 0)]) // geo.scale + geo.offset
            lo, hi = int(owners.min()), int(owners.max())
            farthest = max(farthest or 0, p - lo, hi - p)
            at_edge |= lo == geo.offset if p > n // 2 else hi == n - 1 - geo.offset
    return None if farthest is None else (farthest, at_edge)


class _frozen_statistics:
    """A network with image-wide statistics (prepare_image) keeps those of x for both runs, as the tiler does."""

    def __init__(self, module: nn.Module, x: torch.Tensor) -> None:
        self.module, self.x, self.handle = module, x, None

    def __enter__(self) -> None:
        prepare = image_statistics(self.module)
        if prepare is not None:  # two tiles (top and bottom owned) so the statistics are gathered, not per-input
            inf, half = float("inf"), self.x.shape[-2] // 2
            tiles = [(self.x[0], (0, 0), (-inf, half), (-inf, inf)), (self.x[0], (0, 0), (half, inf), (-inf, inf))]
            self.handle = prepare(lambda: iter(tiles), tta=False)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
