"""`zoo train` end to end: train with the built-in callbacks, then export card + weights."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import ConfigError
from ..registry import get_registry
from .callbacks import JsonlLogCallback, ProgressCallback
from .checkpoint import latest_checkpoint, load_checkpoint
from .config import TrainConfig
from .export import export
from .guard import check_export, claim_run_dir
from .optim import ema_start
from .parts import build_parts
from .trainer import train
from .validation import validate


class Stopped(Exception):
    """SIGTERM/SIGINT ended the run early after a checkpoint; `code` is the exit status (128 + the signal)."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.code = 128 + (signum or 15)


def _claim(cfg: TrainConfig, install: bool) -> None:
    """Before any write: the export paths checked and run_dir made zoo's (guard.py)."""
    check_export(cfg, install)
    claim_run_dir(Path(cfg.run_dir))


def _hp_and_scale(cfg: TrainConfig) -> tuple[dict, int]:
    arch = get_registry().architecture(cfg.model.architecture)
    hp = arch.resolve_hyperparameters(cfg.model.hyperparameters)
    return hp, arch.geometry(hp).scale


def run(cfg: TrainConfig, *, resume: bool = True, command: str | None = None,
        install: bool = False) -> tuple[Path | None, Path | None]:
    """Train, then export on rank 0 (into run_dir/export, or the config's export paths with install)."""
    _claim(cfg, install)
    callbacks = [ProgressCallback(total=cfg.optim.steps, every=cfg.log_every),
                 JsonlLogCallback(Path(cfg.run_dir) / "log.jsonl", every=cfg.log_every)]
    state = train(cfg, callbacks=callbacks, resume=resume)
    if state.stopped:  # a stopped run is not a success: the command exits 128 + the signal, as zoo upscale does
        raise Stopped(state.signum, f"stopped at step {state.step}; checkpoint saved in {cfg.run_dir}. Run the same "
                      "command to resume.")
    if state.rank != 0:
        return None, None
    if not state.last_validation and cfg.validate.every > 0:  # nothing left to train: validate the checkpoint
        return export_latest(cfg, command=command, install=install)
    hp, scale = _hp_and_scale(cfg)
    assert state.model is not None
    return export(cfg, state.model, ema=state.ema, step=state.step, metrics=state.last_validation,
                  hyperparameters=hp, scale=scale, command=command, install=install)


def export_latest(cfg: TrainConfig, *, command: str | None = None, install: bool = False) -> tuple[Path, Path | None]:
    """Export the newest checkpoint in run_dir, re-validating it for the card's metrics."""
    _claim(cfg, install)
    ckpt = latest_checkpoint(Path(cfg.run_dir))
    if ckpt is None:
        raise ConfigError(f"No checkpoint in '{cfg.run_dir}'. Train first: zoo train CONFIG.yaml.")
    parts = build_parts(cfg, with_data=False)
    opt = torch.optim.AdamW(parts.model.parameters())
    ema = ema_start(parts.model, cfg.optim)
    step, _ = load_checkpoint(ckpt, model=parts.model, ema=ema, optimizer=opt)
    if ema is not None and cfg.export.use_ema:
        parts.model.load_state_dict(ema)
    metrics = validate(parts.model, parts.geometry, parts.val_pairs) if parts.val_pairs else {}
    print(json.dumps({"checkpoint": str(ckpt), "step": step, **metrics}))
    hp, scale = _hp_and_scale(cfg)
    return export(cfg, parts.model, ema=ema, step=step, metrics=metrics, hyperparameters=hp, scale=scale,
                  command=command, install=install)
