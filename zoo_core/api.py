"""The public API behind `import zoo`: list_models, fetch, load."""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cards import Card, load_card_file
from .errors import ZooError
from .registry import check_card, get_registry
from .weights.resolve import local_weights, weights_path
from .weights.safetensors_io import load_into, load_safetensors

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
    """The card for a model name, an architecture id's default card, or a card file (NAME.yaml)."""
    if name.endswith((".yaml", ".yml")):
        if not Path(name).is_file():
            raise ZooError(f"Card file '{name}' does not exist. Give the path of a card .yaml or a name from 'zoo list'.")
        card = load_card_file(Path(name))  # e.g. the card `zoo train` just exported
        check_card(get_registry(), card)  # as a registered card: architecture, hyperparameters, variants
        return card
    return get_registry().card(name)


def default_card() -> Card:
    """The model used when none is named: the card a plugin marks `default: true`."""
    return get_registry().default_card()


def is_available_offline(card: Card) -> bool:
    """Whether load() would work with no network (weights present, or rebuildable from upstream)."""
    from .weights.upstream import upstream_available

    try:
        return local_weights(card) is not None or upstream_available(card)
    except ZooError:
        return False


def fetch(name: str, *, upstream_dir: Path | None = None, progress: bool = True) -> Path:
    """Make sure the model's weights are local and verified; return their path."""
    return weights_path(get_card(name), upstream_dir=upstream_dir, progress=progress)


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
    path = Path(weights) if weights else weights_path(card)
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


def pick_backend(arch_id: str, device: str, precision: str, backend: str | None) -> Any:
    """The named backend; by default the first (by name) whose `default_for(...)` is true, else torch.

    A backend declares itself default-eligible only where it matches torch fp32 to within one 8-bit
    level; `backend="torch"` always forces the reference.
    """
    reg = get_registry()
    if backend is None:
        return next((b for _, b in sorted(reg.backends.items()) if _default_for(b, arch_id, device, precision)),
                    reg.backend("torch"))
    chosen = reg.backend(backend)
    if not chosen.supports(arch_id=arch_id, device=device, precision=precision):
        raise ZooError(
            f"Backend '{chosen.name}' cannot run '{arch_id}' on {device} in {precision}. "
            f"Try --backend torch or --precision fp32."
        )
    return chosen


def _default_for(b: Any, arch_id: str, device: str, precision: str) -> bool:
    check = getattr(b, "default_for", None)
    return callable(check) and bool(check(arch_id=arch_id, device=device, precision=precision))


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

    tile_size/batch_size left as None take the backend's preference (runner.preferred_tile/_batch).
    """
    if precision not in PRECISIONS:
        raise ZooError(f"Unknown precision '{precision}'. Use one of: {', '.join(PRECISIONS)}.")
    from .numbers import optional  # checked before `or` below turns a 0 into the default

    tile_size = optional("tile_size", tile_size, lo=1, hi=65536, text=False)
    batch_size = optional("batch_size", batch_size, lo=1, hi=4096, text=False)
    threads = optional("threads", threads, lo=1, hi=4096, text=False)
    from .infer.upscaler import Upscaler

    card = get_card(name)
    arch = get_registry().architecture(card.architecture)
    if precision == "bf16" and not arch.supports_bf16 or precision == "fp16" and not arch.supports_fp16:
        raise ZooError(f"Architecture '{arch.id}' does not support {precision}. Use --precision fp32.")
    dev = resolve_device(device)
    from .cpu_features import check_precision

    check_precision(dev, precision)  # bf16 only where the CPU has it natively (emulated is 10-20x slower)
    module = build_model(card, weights)
    chosen = pick_backend(arch.id, dev, precision, backend)
    try:
        runner = chosen.prepare(module=module, arch_id=arch.id, device=dev, precision=precision, threads=threads)
    except ZooError:
        if backend is not None or chosen.name == "torch":
            raise
        chosen = get_registry().backend("torch")  # an auto-picked fast backend that can't take this card
        runner = chosen.prepare(module=module, arch_id=arch.id, device=dev, precision=precision, threads=threads)
    return Upscaler(
        card=card, geometry=arch.geometry(card.hyperparameters), runner=runner, backend=chosen.name,
        device=dev, precision=precision, tile_size=tile_size or getattr(runner, "preferred_tile", None),
        batch_size=batch_size or getattr(runner, "preferred_batch", 1), weights=str(weights or ""),
    )
