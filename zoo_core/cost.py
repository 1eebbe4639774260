"""Parameters, multiply-adds per pixel and widest feature maps of any registered architecture, from forward hooks.

Measuring builds the network (and imports torch), so `zoo list` and `zoo info` read `cached_cost`: the
figures are kept in $ZOO_HOME/costs.json, keyed by the architecture, its hyperparameters and geometry
and a hash of the builder's source file, and measured again when any of those change. The network is
built on torch's meta device where it allows (shapes only, no arithmetic: seconds even for RRDBNet).
`capped_tile` turns the widest feature maps into a default tile side whose working set fits a budget (each tile
the engine's `working_set` × its widest map: the ncnn backend's own hints, NcnnHints); `whole_image_side` says how
large an image may run as one tile instead; tile_plan.py spends, per image, the room a smaller image leaves.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .architecture import Architecture

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .cards import Card

COST_VERSION = 2  # bump when the measurement itself changes (2: widest_layers)
WIDEST_GRID = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)  # tile sides at which the widest layer is looked for
TILE_BUDGET = 1.5e9  # bytes for all concurrent tiles' working sets: 4096² in 3 GB with a 4x output (805 MB) resident
OUTPUT_RESERVE = 4096 * 4096 * 16 * 3  # that 4x output's bytes: a smaller image's one tile may use what it leaves
# A tile's working set over its widest fp32 feature map (ncnn's Winograd convolutions transform whole maps),
# for an architecture its engine has no hints for (NcnnHints.working_set): the high end measured across the
# families (benchmarks/README.md, Goal 5: 8-24x), so that an undeclared one does not overrun.
WORKING_SET = 24
MIN_DEFAULT_TILE = 64  # below this (or below the context) a tile is mostly context: the budget yields there


def layer_macs(module: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int, int]]:
    """(multiply-adds, output height, output width, output channels) of each conv, transposed-conv and linear layer."""
    import torch
    from torch import nn

    found: list[tuple[int, int, int, int]] = []

    def hook(m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        h, w = (out.shape[-2], out.shape[-1]) if out.dim() == 4 else (1, 1)
        channels = out.shape[1] if out.dim() == 4 else out.shape[-1]
        if isinstance(m, nn.ConvTranspose2d):
            # each output element sums in_channels·k·k/stride² products on average
            k = m.kernel_size[0] * m.kernel_size[1] / (m.stride[0] * m.stride[1])
            macs = int(out.numel() * m.in_channels // m.groups * k)
        elif isinstance(m, nn.Conv2d):
            macs = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs = out.numel() * m.in_features
        found.append((macs, h, w, channels))

    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, kinds)]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return found


def _measure(arch: Architecture, hyperparameters: Mapping[str, Any] | None, sides: tuple[int, ...],
             device: str) -> tuple[int, list[list[tuple[int, int, int, int]]]]:
    """(parameters, layer_macs at each input side), the network built and run on `device`."""
    import torch

    geo = arch.geometry(hyperparameters)
    with torch.device(device):
        module = arch.create(hyperparameters).eval()
        runs = [layer_macs(module, torch.zeros(1, geo.in_channels, n, n)) for n in sides]
    return sum(p.numel() for p in module.parameters()), runs


def _runs(arch: Architecture, hyperparameters: Mapping[str, Any] | None,
          sides: tuple[int, ...]) -> tuple[int, list[list[tuple[int, int, int, int]]]]:
    """`_measure` on the meta device (shapes only), or on the CPU where a builder or forward needs real values."""
    try:
        return _measure(arch, hyperparameters, sides, "meta")
    except (NotImplementedError, RuntimeError):
        return _measure(arch, hyperparameters, sides, "cpu")


def widest_elements(lines: list[list[float]], tile: int) -> float:
    """Elements of the largest feature map on a tile of side `tile` (its context included), from widest_layers."""
    return max((c * max(0.0, rh * tile + bh) * max(0.0, rw * tile + bw) for c, rh, bh, rw, bw in lines), default=0.0)


def _widest_layers(runs: list[list[tuple[int, int, int, int]]], size: int, shift: int) -> list[list[float]]:
    """[channels, rh, bh, rw, bw] (map side = r·tile + b) of each layer largest at some WIDEST_GRID tile."""
    lines = []
    for (_, h1, w1, c), (_, h2, w2, _) in zip(*runs):
        rh, rw = (h2 - h1) / size, (w2 - w1) / size
        # run 1 fed size + 2·offset pixels; a tile t feeds t + 2·context, i.e. run side t + shift
        lines.append([c, rh, h1 - rh * (size - shift), rw, w1 - rw * (size - shift)])
    if not lines:
        return []
    keep = {max(range(len(lines)), key=lambda i: widest_elements([lines[i]], t)) for t in WIDEST_GRID}
    return [lines[i] for i in sorted(keep)]


def cost(arch: Architecture, hyperparameters: Mapping[str, Any] | None = None, size: int = 16) -> dict[str, Any]:
    """Parameters, multiply-adds per input and per output pixel of a large image (borders ignored), widest layers."""
    geo = arch.geometry(hyperparameters)
    params, runs = _runs(arch, hyperparameters, (size + 2 * geo.offset, 2 * size + 2 * geo.offset))
    per_input = 0.0
    for (_, h1, w1, _), (macs, h2, w2, _) in zip(*runs):
        # The layer's resolution relative to the input (1, 2, 1/2…), from how it grows with the input,
        # so the pixels an unpadded conv trims at the border do not count.
        rh, rw = (h2 - h1) / size, (w2 - w1) / size
        per_input += macs / (h2 * w2) * rh * rw
    return {
        "parameters": params,
        "macs_per_input_pixel": per_input,
        "macs_per_output_pixel": per_input / geo.scale**2,
        "widest_layers": _widest_layers(runs, size, 2 * (geo.context - geo.offset)),
    }


def working_set(backend: Any, card: Card) -> float:
    """The engine's working-set factor for the card's network (Backend.working_set, from its own hints), else
    WORKING_SET."""
    from .interfaces import Backend

    declared = backend.working_set(card) if isinstance(backend, Backend) else None
    return WORKING_SET if declared is None else float(declared)


def fits(widest: list[list[float]], tile: int, workers: int, factor: float = WORKING_SET, extra: float = 0.0) -> bool:
    """Whether `workers` concurrent tiles of side `tile` (each `factor` × its widest fp32 map) fit TILE_BUDGET + extra."""
    return workers * factor * 4 * widest_elements(widest, tile) <= TILE_BUDGET + extra


def capped_tile(preferred: int, widest: list[list[float]], *, workers: int, context: int,
                factor: float = WORKING_SET) -> int:
    """The largest tile side <= `preferred` whose `workers` concurrent working sets fit TILE_BUDGET (8-pixel steps).

    Never below max(MIN_DEFAULT_TILE, context) (nor above `preferred`): a smaller tile would be mostly context.
    """
    floor = min(preferred, max(MIN_DEFAULT_TILE, context))
    tile = preferred
    while tile > floor and not fits(widest, tile, workers, factor):
        tile = max(floor, tile - 8)
    return tile


def fitting_workers(preferred: int, widest: list[list[float]], *, workers: int, context: int,
                    factor: float = WORKING_SET) -> int:
    """The most concurrent tiles, up to `workers` (at least 1), that fit TILE_BUDGET at capped_tile's smallest tile."""
    floor = min(preferred, max(MIN_DEFAULT_TILE, context))
    while workers > 1 and not fits(widest, floor, workers, factor):
        workers -= 1
    return workers


def whole_image_side(widest: list[list[float]], factor: float = WORKING_SET, scale: int = 4, *,
                     limit: int = 8192) -> int:
    """The largest image side (8-pixel steps, up to `limit`) run as one tile within 4096²'s 3 GB: TILE_BUDGET plus
    the OUTPUT_RESERVE its own smaller output leaves (3 bytes a pixel at `scale`); 0 if none."""
    def fit(side: int) -> bool:
        return fits(widest, side, 1, factor, extra=OUTPUT_RESERVE - 3 * (side * scale) ** 2)

    side = 0
    while side + 8 <= limit and fit(side + 8):
        side += 8
    return side


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


def _valid_entry(entry: Any) -> bool:
    """Whether a costs.json entry has the shape `cost` gives (a hand-edited or damaged file may not)."""
    def num(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0

    if not isinstance(entry, dict) or not isinstance(entry.get("parameters"), int) or not num(entry["parameters"]):
        return False
    if not all(num(entry.get(k)) for k in ("macs_per_input_pixel", "macs_per_output_pixel")):
        return False
    layers = entry.get("widest_layers")
    return isinstance(layers, list) and all(isinstance(r, list) and len(r) == 5 and all(map(num, r)) for r in layers)


def _read_table(path: Path) -> dict[str, Any]:
    """The costs table; a damaged file (not JSON, not a mapping, nested too deep) is left to be rewritten, with a warning."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError):
        table = None
    if not isinstance(table, dict):
        _warn_once(path, "is not a table of model costs zoo wrote; ignoring it (it is rewritten as models are measured)")
        return {}
    return table


_WARNED: set[str] = set()
_MEASURED: dict[str, dict[str, Any]] = {}  # figures measured in this process, by cost_key (keep=False writes none)


def _warn_once(path: Path, what: str) -> None:
    if str(path) not in _WARNED:
        _WARNED.add(str(path))
        logging.getLogger("zoo").warning("zoo: warning: %s %s.", path, what)


def cached_cost(arch: Architecture, hyperparameters: Mapping[str, Any] | None = None, size: int = 16, *,
                keep: bool = True) -> dict[str, Any]:
    """`cost(...)`, measured once and then read from $ZOO_HOME/costs.json (no torch import on a hit).

    keep=False (zoo.load) never writes: a figure the file lacks is measured and kept for this process only
    (`zoo info` and `zoo list` write it)."""
    from .weights.cache import zoo_home

    key = cost_key(arch, hyperparameters, size)
    if key is None:
        return cost(arch, hyperparameters, size)
    path = zoo_home() / "costs.json"
    table = _read_table(path)
    if _valid_entry(table.get(key)):
        return table[key]
    if key in table:
        _warn_once(path, f"has a malformed entry for '{arch.id}'; measuring it again")
    figures = _MEASURED.get(key) or cost(arch, hyperparameters, size)
    _MEASURED[key] = table[key] = figures
    if not keep:
        return figures
    try:
        from .weights.safetensors_io import atomic_write_bytes

        atomic_write_bytes(path, json.dumps(table, indent=1, sort_keys=True).encode())
    except Exception:  # a read-only cache only costs speed next time
        pass
    return figures
