"""`zoo import`: a community model file (.pth or .safetensors) recognised, stored as safetensors with a card.

The file is read once (a .pth by the restricted unpickler, weights/pth.py), recognised by the plugin that owns
its layout (recognize.py), checked to fit the architecture, and written under $ZOO_HOME/imported/ as NAME.yaml
plus NAME.safetensors (sha256 in the card). From then on it is a card like any other; only the safetensors is read.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .cards import NAME_RE, Card, load_card_file, parse_card
from .errors import CardError, WeightsError, ZooError
from .imported_cards import FOLDER, imported_card_files, imported_dir  # noqa: F401  (re-exported)
from .recognize import Recognized, Recognizer, apply, recognise, strip_prefix, unwrap
from .weights.cache import zoo_home
from .weights.safetensors_io import sha256_file

if TYPE_CHECKING:
    import torch

    from .registry import Registry

PTH_SUFFIXES = (".pth", ".pt", ".ckpt")
MODEL_SUFFIXES = (*PTH_SUFFIXES, ".safetensors")
UNKNOWN_LICENSE = "unknown"
SPDX_RE = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")


@dataclass(frozen=True)
class Imported:
    """What `zoo import` did: the card, whether it was already there, what the file could not tell, what was measured."""

    card: Card
    layout: str
    existed: bool
    notes: tuple[str, ...] = ()
    checks: dict[str, Any] | None = None


def is_model_file(name: str) -> bool:
    """Whether `name` names a model file `-m` imports on first use (rather than a card name)."""
    return name.lower().endswith(MODEL_SUFFIXES)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The file's tensors: safetensors read as such, a .pth through the restricted unpickler only."""
    from .weights.safetensors_io import load_safetensors

    if path.suffix.lower() == ".safetensors":
        return strip_prefix(load_safetensors(path)[0])
    if path.suffix.lower() not in PTH_SUFFIXES:
        raise WeightsError(f"'{path}' is a {path.suffix or 'suffix-less'} file; zoo import reads "
                           f"{', '.join(MODEL_SUFFIXES)}. Give the model file as downloaded.")
    from .weights.pth import read_pth

    return strip_prefix(unwrap(read_pth(path), str(path)))


def default_name(path: Path) -> str:
    """A card name from the file name: lowercase, other characters as '-'."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-._")
    return stem or "imported-model"


def _check_license(license: str | None) -> str:
    if license is None:
        return UNKNOWN_LICENSE
    if not SPDX_RE.match(license):
        raise ZooError(f"--license {license!r} is not an SPDX identifier or expression. Expected e.g. MIT, "
                       "CC-BY-NC-SA-4.0 or 'Apache-2.0 OR MIT'; leave it out to record the licence as unknown.")
    return license


def _existing(name: str, source_sha: str, reg: Registry) -> Card | None:
    """The imported card of this name when it is this very file; ZooError when the name is someone else's."""
    path = imported_dir() / f"{name}.yaml"
    if path.is_file():
        card = load_card_file(path)
        files = card.upstream.get("files") or [{}]
        if files[0].get("sha256") == source_sha:
            return card
        raise ZooError(f"An imported model is already named '{name}' (from {files[0].get('path', '?')}); nothing was "
                       "changed. Pick another name with --name NAME.")
    if name in reg.cards or name in reg.architectures:
        raise ZooError(f"'{name}' is already a model or architecture name here ('zoo info {name}'); nothing was "
                       "imported. Pick another name with --name NAME.")
    return None


def find_by_source(source_sha: str) -> Card | None:
    """An imported card made from the file with this sha256 (so `-m FILE` imports once)."""
    for path in imported_card_files():
        try:
            card = load_card_file(path)
        except CardError:
            continue
        if (card.upstream.get("files") or [{}])[0].get("sha256") == source_sha:
            return card
    return None


def import_model(path: Path, *, name: str | None = None, license: str | None = None,
                 reg: Registry | None = None) -> Imported:
    """Recognise `path`, store its weights as safetensors and write its card; an existing same import is reused."""
    from .registry import check_card, get_registry

    reg = reg or get_registry()
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"Model file '{path}' does not exist or is not a file. Give the .pth or .safetensors path.")
    license = _check_license(license)
    name = name or default_name(path)
    if not NAME_RE.match(name):
        raise ZooError(f"--name {name!r} must be lowercase letters, digits, '.', '_' or '-'. Fix: e.g. --name my-model-4x.")
    source_sha = sha256_file(path)
    card = _existing(name, source_sha, reg)
    if card is not None:
        return Imported(card, next((t[len("layout-"):] for t in card.tags if t.startswith("layout-")), ""), existed=True)
    tensors = read_state_dict(path)
    rec, found = recognise({k: tuple(v.shape) for k, v in tensors.items()}, reg.recognizers, str(path))
    arch = reg.architecture(rec.architecture)
    hp = arch.resolve_hyperparameters(found.hyperparameters)
    state = _fitted(arch, hp, apply(found, tensors, str(path)), path)
    folder = imported_dir()
    weights = folder / f"{name}.safetensors"
    data = _card_data(name, rec, found, license, path, source_sha)
    card = parse_card(data, str(folder / f"{name}.yaml"))
    check_card(reg, card)
    from . import import_checks
    from .atomic import write_bytes
    from .weights.safetensors_io import save_safetensors

    checks = import_checks.measured(card)  # before anything is written: a short context refuses the import

    # "detected", not "hyperparameters": a card may set what the file cannot tell (an activation), see api.build_model
    meta = {"architecture": rec.architecture, "detected": json.dumps(found.hyperparameters, sort_keys=True),
            "source_sha256": source_sha, "layout": rec.name}
    data["weights"] = {"file": weights.name, "sha256": save_safetensors(weights, state, meta)}
    write_bytes(import_checks.sidecar(card), json.dumps(checks, indent=1).encode(), ZooError)
    text = "# written by `zoo import`; edit license/description freely (weights are checked by sha256)\n"
    write_bytes(folder / f"{name}.yaml", (text + yaml.safe_dump(data, sort_keys=False)).encode(), ZooError)
    from .registry import reset_registry

    reset_registry()  # the next look-up lists the new card
    return Imported(load_card_file(folder / f"{name}.yaml"), rec.name, existed=False, notes=found.notes, checks=checks)


def _fitted(arch: Any, hp: dict[str, Any], state: dict[str, Any], path: Path) -> dict[str, Any]:
    """The renamed tensors, checked against the network built with the detected hyperparameters (fp32)."""
    from .weights.safetensors_io import load_into

    module = arch.create(hp)
    try:
        load_into(module, state, str(path))
    except WeightsError as exc:
        raise WeightsError(f"{exc} (recognised as '{arch.id}' with {hp}; a plugin's recognizer misread the file: "
                           "please report it).") from None
    return {k: v.detach().float().contiguous() if v.is_floating_point() else v for k, v in module.state_dict().items()}


def _card_data(name: str, rec: Recognizer, found: Recognized, license: str, path: Path, sha: str) -> dict[str, Any]:
    described = ", ".join(f"{k}={v}" for k, v in sorted(found.hyperparameters.items()))
    return {
        "name": name,
        "architecture": rec.architecture,
        "hyperparameters": dict(found.hyperparameters),
        "task": {"scale": int(found.scale)},
        "weights": {"file": f"{name}.safetensors", "sha256": "0" * 64},  # replaced once the weights are written
        # the source file by name and sha256 only (a card names no path outside its folder; it is never read again)
        "upstream": {"description": f"imported by `zoo import` from {path.resolve()}, recognised as {rec.name} "
                     f"({described})" + "".join(f"; {note}" for note in found.notes),
                     "files": [{"path": path.name if path.name.isprintable() and "\\" not in path.name else "source.pth",
                                "sha256": sha}]},
        "license": license,
        "description": f"Community model {path.name} ({rec.architecture}, {found.scale}x), imported; "
                       f"licence {license}{' (ask its author before sharing outputs)' if license == UNKNOWN_LICENSE else ''}.",
        "tags": ["imported", f"layout-{rec.name}"],
    }


def card_for_file(path: Path) -> Card:
    """The card of a model file given as `-m FILE`: the earlier import of this very file, else imported now."""
    import logging

    path = Path(path)
    if not path.is_file():
        raise ZooError(f"Model file '{path}' does not exist. Give the path of a .pth or .safetensors file, or a name "
                       "from 'zoo list'.")
    card = find_by_source(sha256_file(path))
    if card is not None:
        return card
    name = default_name(path)
    from .registry import get_registry

    reg = get_registry()
    if name in reg.cards or (imported_dir() / f"{name}.yaml").exists():
        name = f"{name}-{sha256_file(path)[:8]}"  # another model already has the file's name
    done = import_model(path, name=name, reg=reg)
    logging.getLogger("zoo").warning("imported '%s' as model '%s' (licence unknown; 'zoo info %s' shows the card)",
                                     path, done.card.name, done.card.name)
    return done.card
