"""Final export: deterministic safetensors weights plus a ready, validated model card."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from ..cards import parse_card
from ..errors import ConfigError
from ..weights.safetensors_io import atomic_write_bytes, save_safetensors
from .config import SAMPLINGS, TrainConfig


BF16_WORDS = {True: "bf16 autocast", "auto": "bf16 autocast where the CPU has native bf16, else fp32"}


AUGMENT_WORDS = {True: "dihedral augmentation", False: "no augmentation", "flips": "horizontal flips only"}


def recipe(cfg: TrainConfig) -> str:
    """One paragraph saying what data and recipe made the weights."""
    d, o = cfg.data, cfg.optim
    deg = ", ".join(f"{k}={v}" for k, v in sorted(cfg.degradation.options.items())) or "defaults"
    src = [f"{d.synthetic.count} synthetic anime-style images ({d.synthetic.size}px, seeds "
           f"{d.synthetic.seed}..{d.synthetic.seed + d.synthetic.count - 1})"] if d.synthetic.count else []
    counted = f" (each counted {d.repeat} times per epoch)" if d.repeat > 1 else ""
    if list(d.scales) != [1.0]:
        counted = f" at scales {', '.join(f'{s:g}' for s in d.scales)}{counted}"
    src += [f"images in {x}" + (f" except {', '.join(d.exclude)}" if d.exclude else "")
            + (f" counted {d.dir_repeat[x]} times" if d.dir_repeat.get(x, 1) > 1 else "") + counted for x in d.dirs]
    if d.corpus:
        more = "".join(f", {pkg} pictures counted {n} times" if n else f", no {pkg} pictures"
                       for pkg, n in sorted(d.source_repeat.items()))
        more += f", except {', '.join(d.exclude)}" if d.exclude and not d.dirs else ""
        src.append(f"the train split of corpus '{d.corpus}' (zoo data prepare {d.corpus}){more}{counted}")
    return (
        f"Data: {'; '.join(src)}; {d.patch_size}px HR patches "
        f"{SAMPLINGS[d.sampling]}, at most "
        f"{d.max_patch_per_img} per image per epoch, {AUGMENT_WORDS[d.augment]}"
        f"{f', patches with grey std < {d.min_patch_std:g} redrawn' if d.min_patch_std else ''}. "
        f"Degradation: {cfg.degradation.name} ({deg}). Loss: {cfg.loss.name}. "
        f"{f'Init: {cfg.model.init}. ' if cfg.model.init else ''}"
        f"AdamW lr {o.lr:g}→{o.min_lr:g} ({o.warmup_steps} warmup steps, cosine), batch {o.batch_size}, "
        f"{o.steps} steps, weight decay {o.weight_decay:g}, clip {o.clip_grad:g}, "
        f"{BF16_WORDS.get(o.bf16, 'fp32')}, EMA {o.ema:g}, seed {o.seed}."
    )


def _validation_metric(cfg: TrainConfig, step: int, metrics: dict[str, Any]) -> dict[str, Any]:
    """The trainer's last validation, in the cards' metric shape (name, value, bicubic, …)."""
    v = cfg.validate
    names = [Path(f).name for f in v.files] + ([f"{v.synthetic.count} synthetic (seeds {v.synthetic.seed}..)"]
                                               if v.synthetic.count else [])
    if v.corpus:
        names.insert(0, f"{v.count} pictures of corpus '{v.corpus}' val split")
    return {
        "name": f"PSNR-Y {cfg.model.architecture} validation (dB)",
        "value": round(float(metrics.get("psnr_y", float("nan"))), 3),
        "bicubic": round(float(metrics.get("bicubic_psnr_y", float("nan"))), 3),
        "dataset": f"held-out validation: {', '.join(names)} (centre crops <= {v.max_side}px)",
        "step": step,
        "per_image_gain_db": {k.split("/", 1)[1]: round(float(x), 3) for k, x in metrics.items() if k.startswith("gain_db/")},
        "protocol": "LR by the training degradation; PSNR on Y (BT.601, 16-235) of 8-bit outputs, scale-px border excluded",
    }


def destinations(cfg: TrainConfig, install: bool) -> tuple[Path, Path | None, str]:
    """(weights, card, card's weights.file): under run_dir/export, or the config's own paths with install."""
    e = cfg.export
    if install:
        if not e.weights:
            raise ConfigError("export.weights is empty: say where the .safetensors file goes.")
        return Path(e.weights), Path(e.card) if e.card else None, e.weights_ref
    # by default training writes only into its run folder, never into tracked files
    name = e.card_name or cfg.name
    out = Path(cfg.run_dir) / "export"
    return out / f"{name}.safetensors", out / f"{name}.yaml", f"{name}.safetensors"


def weights_reference(weights: Path, card_path: Path) -> str:
    """The card's weights.file for an installed export: the weights' path from the card's folder (card_paths.py)."""
    rel = os.path.relpath(weights.resolve(), card_path.resolve().parent)
    if rel.startswith(".."):
        raise ConfigError(f"export.weights {weights} is not in the folder of export.card {card_path} (or under it); a card "
                          "names only files there. Fix: put both in one folder, or set export.weights_ref to "
                          "PACKAGE:PATH inside an installed plugin.")
    return rel


def export(cfg: TrainConfig, model: nn.Module, *, ema: dict[str, torch.Tensor] | None, step: int,
           metrics: dict[str, Any], hyperparameters: dict[str, Any], scale: int,
           command: str | None = None, install: bool = False) -> tuple[Path, Path | None]:
    """Write the weights (EMA when configured) and the card. Returns both paths."""
    e = cfg.export
    weights, card_path, weights_ref = destinations(cfg, install)
    if card_path is not None and not weights_ref:  # before any write: a card names files only beside or under it
        weights_ref = weights_reference(weights, card_path)
    tensors = dict(ema) if (ema is not None and e.use_ema) else model.state_dict()
    tensors = {k: v.detach().float() if v.dtype.is_floating_point else v for k, v in tensors.items()}
    meta = {"architecture": cfg.model.architecture, "hyperparameters": json.dumps(hyperparameters, sort_keys=True),
            "step": str(step), "zoo_train": cfg.name}
    weights.parent.mkdir(parents=True, exist_ok=True)
    sha = save_safetensors(weights, tensors, meta)
    if card_path is None:
        return weights, None
    card = {
        "name": e.card_name or cfg.name,
        "architecture": cfg.model.architecture,
        "hyperparameters": dict(hyperparameters),
        "task": {"scale": scale, "noise_level": e.noise_level, **e.variants},
        "weights": {"file": weights_ref, "sha256": sha},
        "upstream": {
            "description": f"Trained by zoo ({step} steps). {recipe(cfg)}",
            "command": command or " ".join(["zoo", *sys.argv[1:]]),
            "license": e.license,
        },
        "license": e.license,
        "description": e.description or f"{cfg.model.architecture} trained with 'zoo train'.",
        "metrics": {"psnr_y_2x_validation": _validation_metric(cfg, step, metrics)} if metrics else {},
        "tags": ["trained-by-zoo"],
    }
    parse_card(card, str(card_path))  # refuse to write a card zoo could not load
    atomic_write_bytes(card_path, yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=100).encode())
    return weights, card_path
