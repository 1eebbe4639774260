"""What `zoo import` measures once a card is written: the receptive field (zoo's conformance check) and the backend
the card gets by default, with the reason; kept beside the card ($ZOO_HOME/imported/NAME.json) for `zoo info`,
which must not import torch to show them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .cards import Card

MAX_MEASURE_MACS = 4e9  # one probe forward at most this many multiply-adds (seconds on 2 cores); beyond: declared


def measured(card: Card) -> dict[str, Any]:
    """{backend, backend_why, context_declared, context_measured | context_note} for a freshly imported card."""
    from .registry import get_registry

    arch = get_registry().architecture(card.architecture)
    geo = arch.geometry(card.hyperparameters)
    found: dict[str, Any] = {"context_declared": geo.context}
    found.update(_context(arch, card, geo.context))
    found.update(_backend(card, arch))
    return found


def _context(arch: Any, card: Card, declared: int) -> dict[str, Any]:
    """The receptive radius measured on the imported network, when one probe is affordable."""
    from .conformance import measure_context
    from .cost import cached_cost

    per_px = float(cached_cost(arch, card.hyperparameters).get("macs_per_input_pixel", 0))
    side = 2 * (declared + arch.geometry(card.hyperparameters).size_multiple) + 8
    if per_px * side * side > MAX_MEASURE_MACS:
        return {"context_note": f"not measured at import (a {side}² probe is {per_px * side * side / 1e9:.0f} GMACs); "
                "the architecture's formula, which its conformance tests measure at small widths, is used"}
    got = measure_context(arch, card.hyperparameters)
    if got > declared:  # the plugin's formula is short: tiles would not be exact
        from .errors import ZooError

        raise ZooError(f"'{card.name}': the network's receptive field is {got} input pixels per side but architecture "
                       f"'{arch.id}' declares {declared} for it; tiles would not be exact. Report it to the plugin.")
    return {"context_measured": got}


def _backend(card: Card, arch: Any) -> dict[str, str]:
    """The backend `zoo.load` picks on the CPU in fp32, and why (the fast engine's refusal, when it refuses)."""
    from .backend_pick import backend_named, pick_backends
    from .registry import get_registry

    module = arch.create(card.hyperparameters)  # what an engine can express does not depend on the weights
    chosen = pick_backends(card, module, "cpu", "fp32", None)[0]
    if chosen.name != "torch":
        return {"backend": chosen.name, "backend_why": f"the default CPU path: it expresses every layer of '{arch.id}' "
                "(fp32 within one 8-bit level of torch)"}
    refusals = []
    for name in sorted(set(get_registry().backends) - {"torch"}):
        other = backend_named(name)
        if other.default_for(card, device="cpu", precision="fp32"):
            refusals.append(f"{name}: {other.supports(card, module, device='cpu', precision='fp32')}")
    return {"backend": "torch", "backend_why": "; ".join(refusals) or "no faster CPU engine is installed"}


def sidecar(card: Card) -> Path:
    """Where the measurements of an imported card are kept."""
    return Path(card.source).with_suffix(".json")


def read(card: Card) -> dict[str, Any] | None:
    """The measurements kept for an imported card, or None."""
    try:
        data = json.loads(sidecar(card).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
