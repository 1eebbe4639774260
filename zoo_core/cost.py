"""Parameters and multiply-adds per pixel of any registered architecture, measured with forward hooks.

Measuring builds the network (and imports torch), so `zoo list` and `zoo info` read `cached_cost`: the
figures are kept in $ZOO_HOME/costs.json, keyed by the architecture, its hyperparameters and geometry
and a hash of the builder's source file, and measured again when any of those change.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .architecture import Architecture

if TYPE_CHECKING:
    import torch
    from torch import nn

COST_VERSION = 1  # bump when the measurement itself changes


def layer_macs(module: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int]]:
    """(multiply-adds, output height, output width) of each conv, transposed-conv and linear layer."""
    import torch
    from torch import nn

    found: list[tuple[int, int, int]] = []

    def hook(m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        h, w = (out.shape[-2], out.shape[-1]) if out.dim() == 4 else (1, 1)
        if isinstance(m, nn.ConvTranspose2d):
            # each output element sums in_channels·k·k/stride² products on average
            k = m.kernel_size[0] * m.kernel_size[1] / (m.stride[0] * m.stride[1])
            macs = int(out.numel() * m.in_channels // m.groups * k)
        elif isinstance(m, nn.Conv2d):
            macs = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs = out.numel() * m.in_features
        found.append((macs, h, w))

    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, kinds)]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return found


def cost(arch: Architecture, hyperparameters: Mapping[str, Any] | None = None, size: int = 16) -> dict[str, float]:
    """Parameters and multiply-adds per input and per output pixel of a large image (borders ignored)."""
    import torch

    module = arch.create(hyperparameters).eval()
    geo = arch.geometry(hyperparameters)
    params = sum(p.numel() for p in module.parameters())
    runs = [
        layer_macs(module, torch.zeros(1, geo.in_channels, n + 2 * geo.offset, n + 2 * geo.offset))
        for n in (size, 2 * size)
    ]
    per_input = 0.0
    for (_, h1, w1), (macs, h2, w2) in zip(*runs):
        # The layer's resolution relative to the input (1, 2, 1/2…), from how it grows with the input,
        # so the pixels an unpadded conv trims at the border do not count.
        rh, rw = (h2 - h1) / size, (w2 - w1) / size
        per_input += macs / (h2 * w2) * rh * rw
    return {
        "parameters": params,
        "macs_per_input_pixel": per_input,
        "macs_per_output_pixel": per_input / geo.scale**2,
    }


def _builder_file(arch: Architecture) -> Path | None:
    """The source file of the architecture's build function, found without importing it when given as a string."""
    try:
        if isinstance(arch.build, str):
            spec = importlib.util.find_spec(arch.build.partition(":")[0])
            origin = spec.origin if spec else None
        else:
            origin = inspect.getsourcefile(arch.build)
    except (ImportError, ValueError, TypeError):
        return None
    return Path(origin) if origin and Path(origin).is_file() else None


def cost_key(arch: Architecture, hyperparameters: Mapping[str, Any] | None = None, size: int = 16) -> str | None:
    """What the measured figures depend on, as one string; None when the builder's source cannot be found."""
    source = _builder_file(arch)
    if source is None:
        return None
    geo = arch.geometry(hyperparameters)
    return json.dumps({
        "v": COST_VERSION, "arch": arch.id, "size": size, "geometry": vars(geo),
        "hp": arch.resolve_hyperparameters(hyperparameters),
        "source": hashlib.sha256(source.read_bytes()).hexdigest(),
    }, sort_keys=True, default=str)


def cached_cost(arch: Architecture, hyperparameters: Mapping[str, Any] | None = None, size: int = 16) -> dict[str, float]:
    """`cost(...)`, measured once and then read from $ZOO_HOME/costs.json (no torch import on a hit)."""
    from .weights.cache import zoo_home

    key = cost_key(arch, hyperparameters, size)
    if key is None:
        return cost(arch, hyperparameters, size)
    path = zoo_home() / "costs.json"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    if not isinstance(table, dict):
        table = {}
    if isinstance(table.get(key), dict):
        return table[key]
    figures = cost(arch, hyperparameters, size)
    table[key] = figures
    try:
        from .weights.safetensors_io import atomic_write_bytes

        atomic_write_bytes(path, json.dumps(table, indent=1, sort_keys=True).encode())
    except Exception:  # a read-only cache only costs speed next time
        pass
    return figures
