"""The public API behind `import zoo`: list_models, fetch, load."""
from __future__ import annotations

import fnmatch
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .cards import Card, load_card_file
from .errors import PluginError, ZooError
from .interfaces import Backend, Runner, WeightFormat
from .backend_pick import _loaded, _usable, backend_named, pick_backends  # noqa: F401  (re-exported)
from .registry import check_card, get_registry
from .weights.convert import converted_bytes, write_converted
from .weights.resolve import Notify, locate, resolve
from .weights.safetensors_io import load_into, load_safetensors
from .weights.sources import OFFLINE, Source, chain
from .weights.upstream import upstream_available

if TYPE_CHECKING:  # torch is imported where a network is built: listing and describing models stays light
    import torch

    from .infer.upscaler import Upscaler

DEVICES = ("cpu", "cuda", "auto")
PRECISIONS = ("fp32", "bf16", "fp16")


def list_models(pattern: str | None = None) -> list[Card]:
    """Cards whose name matches the glob (or substring) `pattern`, sorted by name."""
    cards = sorted(get_registry().cards.values(), key=lambda c: c.name)
    if pattern:
        glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
        cards = [c for c in cards if fnmatch.fnmatch(c.name, glob)]
    return cards


def get_card(name: str) -> Card:
    """The card for a model name, an architecture id's default card, a card file (NAME.yaml) or a model file."""
    from .importer import card_for_file, is_model_file

    if is_model_file(name):  # a community .pth/.safetensors: imported on first use, its card after that
        return card_for_file(Path(name))
    if name.endswith((".yaml", ".yml")):
        if not Path(name).is_file():
            raise ZooError(f"Card file '{name}' does not exist. Give the path of a card .yaml or a name from 'zoo list'.")
        card = load_card_file(Path(name))  # e.g. the card `zoo train` just exported
        check_card(get_registry(), card)  # as a registered card: architecture, hyperparameters, variants
        return card
    return get_registry().card(name)


def default_model() -> Card:
    """The model used when none is named: the card a plugin marks `default: true` (an Architecture's
    `default_card` is another thing: the card its id stands for)."""
    return get_registry().default_model()


def weight_format(name: str) -> WeightFormat:
    """The registered weight format, imported now if it is a built-in, and checked."""
    return _loaded(get_registry().weight_format(name), WeightFormat)


def convert_to_bytes(arch_id: str, fmt: str, paths: Sequence[Path],
                     hyperparameters: Mapping[str, Any] | None = None) -> bytes:
    """Convert `paths` with the named format for the named architecture; safetensors bytes (deterministic)."""
    return converted_bytes(get_registry().architecture(arch_id), weight_format(fmt), paths, hyperparameters)


def convert_file(arch_id: str, fmt: str, paths: Sequence[Path], out: Path,
                 hyperparameters: Mapping[str, Any] | None = None) -> str:
    """Convert and write `out` atomically; returns its sha256."""
    return write_converted(get_registry().architecture(arch_id), weight_format(fmt), paths, out, hyperparameters)


def _convert_upstream(card: Card, paths: Sequence[Path]) -> bytes:
    return convert_to_bytes(card.architecture, card.upstream["format"], paths, card.hyperparameters)


def _parameters(card: Card) -> int | None:
    """The card's network's parameter count (measured once, cached); None when its architecture is not installed."""
    from .cost import cached_cost

    try:
        return int(cached_cost(get_registry().architecture(card.architecture), card.hyperparameters)["parameters"])
    except ZooError:
        return None


def weight_sources(*, upstream_dir: Path | None = None, progress: bool = True) -> list[Source]:
    """The chain a card's weights are looked for in: shipped, zoo cache, Hub cache, Hub, upstream rebuild."""
    return chain(upstream_dir=upstream_dir, progress=progress, convert=_convert_upstream, parameters=_parameters)


def weights_for(card: Card, *, upstream_dir: Path | None = None, progress: bool = True,
                notify: Notify | None = None) -> Path:
    """A verified local path to the card's weights (hashed once); `notify` hears about fallbacks."""
    return resolve(card, weight_sources(upstream_dir=upstream_dir, progress=progress), notify=notify)


def locate_weights(card: Card, *, upstream_dir: Path | None = None, progress: bool = True,
                   notify: Notify | None = None) -> tuple[Path, str]:
    """Like weights_for, plus how they came (`zoo fetch` says 'downloaded', 'already here'…)."""
    path, source = locate(card, weight_sources(upstream_dir=upstream_dir, progress=progress), notify=notify)
    return path, source.how


def is_available_offline(card: Card) -> bool:
    """Whether load() would work with no network (weights present, or rebuildable from upstream)."""
    try:
        resolve(card, OFFLINE, notify=lambda _message: None)
        return True
    except ZooError:  # missing, corrupt, untrained, a bad ZOO_HUB_REPO: not here, and 'zoo fetch' says why
        pass
    try:
        return upstream_available(card)
    except ZooError:  # an upstream file that is not the original: not usable offline either
        return False


def fetch(name: str, *, upstream_dir: Path | None = None, progress: bool = True) -> Path:
    """Make sure the model's weights are local and verified; return their path."""
    return weights_for(get_card(name), upstream_dir=upstream_dir, progress=progress)


def resolve_device(device: str) -> str:
    """'auto' → cuda when available, else cpu; anything else is checked."""
    if device not in DEVICES and not device.startswith("cuda:"):
        raise ZooError(f"Unknown device '{device}'. Use one of: {', '.join(DEVICES)}.")
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ZooError(f"Device '{device}' was asked for but no CUDA GPU is available. Use --device cpu.")
    return device


def build_model(card: Card, weights: str | Path | None = None) -> torch.nn.Module:
    """The architecture built with the card's hyperparameters and its (verified) weights loaded."""
    arch = get_registry().architecture(card.architecture)
    module = arch.create(card.hyperparameters)
    path = Path(weights) if weights else weights_for(card)
    tensors, meta = load_safetensors(path)
    _check_hyperparameters(card, arch.resolve_hyperparameters(card.hyperparameters), meta, path)
    load_into(module, tensors, str(path))
    return module.eval()


def _check_hyperparameters(card: Card, built: dict[str, Any], meta: dict[str, str], path: Path) -> None:
    """Weights written by zoo train/convert name their hyperparameters (JSON); some (DRRN's recursions)
    change no tensor shape, so only this metadata can tell a mismatch."""
    try:
        saved = json.loads(meta["hyperparameters"])
    except (KeyError, ValueError):
        return  # weights from elsewhere: the tensor shapes are all there is to check
    if not isinstance(saved, dict):
        return
    diff = {k: v for k, v in saved.items() if k in built and built[k] != v}
    if diff:
        given = ", ".join(f"{k}={v}" for k, v in diff.items())
        card_says = ", ".join(f"{k}={built[k]}" for k in diff)
        raise ZooError(f"Weights '{path}' were made with {given}, but card '{card.name}' builds {card_says}. "
                       "Use the card exported with these weights (zoo load/eval accept a card .yaml file).")


def _runner(b: Backend, card: Card, module: torch.nn.Module, options: dict[str, Any]) -> Runner:
    runner = b.prepare(module=module, arch_id=card.architecture, **options)
    if not isinstance(runner, Runner):
        raise PluginError(f"Backend '{b.name}' returned a {type(runner).__name__} from prepare(); expected a "
                          "zoo_core.interfaces.Runner. Fix: make its runner subclass Runner.")
    return runner


def _prepare(candidates: list[Backend], card: Card, module: torch.nn.Module, **options: Any) -> tuple[Backend, Runner]:
    """The first candidate that prepares the module; one failing after `supports` said yes is warned about."""
    for b, after in zip(candidates, candidates[1:]):
        try:
            return b, _runner(b, card, module, options)
        except ZooError as err:  # a plugin bug: say so, and run the card on the next backend
            logging.getLogger("zoo").warning("Backend '%s' failed to prepare '%s' (%s); using '%s' instead.",
                                             b.name, card.name, err, after.name)
    return candidates[-1], _runner(candidates[-1], card, module, options)


def load(
    name: str,
    *,
    weights: str | Path | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    backend: str | None = None,
    tile_size: int | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> Upscaler:
    """Load a model by card name or architecture id; fetches its weights on first use.

    tile_size/batch_size left as None take the backend's preference (runner.preferred_tile/_batch); on the
    CPU a default tile (and batch) is made smaller where its working set would overrun cost.TILE_BUDGET.
    `threads` is the runner's own: loading changes no process-wide state and writes nothing to disk
    (weights a card lacks locally are fetched into the cache, as `zoo fetch` does).

    The steps, in order: options checked, card resolved, device and precision checked, network built with its
    weights, backend chosen and prepared, default tiling.
    """
    tile_size, batch_size, threads = _checked_options(precision, tile_size, batch_size, threads)
    card = get_card(name)
    dev = _device_for(card, device, precision)
    module = build_model(card, weights)
    candidates = pick_backends(card, module, dev, precision, backend)
    chosen, runner = _prepare(candidates, card, module, device=dev, precision=precision, threads=threads)
    from .infer import tiling
    from .infer.upscaler import Upscaler

    tile_size, batch_size, planner = tiling.for_model(card, chosen, runner, dev, tile_size, batch_size)
    return Upscaler(
        card=card, geometry=get_registry().architecture(card.architecture).geometry(card.hyperparameters),
        runner=runner, backend=chosen.name, device=dev, precision=precision, tile_size=tile_size,
        batch_size=batch_size, weights=str(weights or ""), planner=planner,
    )


def _checked_options(precision: str, tile: int | None, batch: int | None,
                     threads: int | None) -> tuple[int | None, ...]:
    """tile_size, batch_size (the tiling policy's check) and threads, each None or in range, once the precision is
    one zoo knows: before anything is fetched or built."""
    from .infer.tiling import checked_sizes
    from .numbers import optional

    if precision not in PRECISIONS:
        raise ZooError(f"Unknown precision '{precision}'. Use one of: {', '.join(PRECISIONS)}.")
    return (*checked_sizes(tile, batch), optional("threads", threads, lo=1, hi=4096, text=False))


def _device_for(card: Card, device: str, precision: str) -> str:
    """The resolved device, once the architecture offers the precision and the device runs it natively."""
    arch = get_registry().architecture(card.architecture)
    if precision == "bf16" and not arch.supports_bf16 or precision == "fp16" and not arch.supports_fp16:
        raise ZooError(f"Architecture '{arch.id}' does not support {precision}. Use --precision fp32.")
    dev = resolve_device(device)
    from .cpu_features import check_precision

    check_precision(dev, precision)  # bf16 only where the CPU has it natively (emulated is 10-20x slower)
    return dev
