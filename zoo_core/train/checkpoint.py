"""Training checkpoints as safetensors: model, EMA and AdamW state as tensors, the rest as JSON metadata.

Nothing is pickled, so a checkpoint from anywhere is safe to open.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..weights.safetensors_io import load_safetensors, save_safetensors
from .guard import RUN_MARK

CKPT_RE = re.compile(r"^ckpt-(\d{8})\.safetensors$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    """runs/NAME/ckpt-00001234.safetensors."""
    return Path(run_dir) / f"ckpt-{step:08d}.safetensors"


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint with the highest step in `run_dir`, or None."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    found = sorted(p for p in run_dir.iterdir() if CKPT_RE.match(p.name))
    return found[-1] if found else None


def save_checkpoint(path: Path, *, step: int, model: nn.Module, ema: dict[str, torch.Tensor] | None,
                    optimizer: torch.optim.Optimizer, extra: dict[str, Any], keep: int = 3) -> str:
    """Write one checkpoint atomically; keep only the newest `keep` in its folder. Returns sha256."""
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in model.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v for k, v in ema.items()})
    sd = optimizer.state_dict()
    for idx, state in sd["state"].items():
        for key, value in state.items():
            t = value if torch.is_tensor(value) else torch.tensor(float(value))
            tensors[f"optim.{idx}.{key}"] = t.reshape(-1) if t.dim() == 0 else t  # 0-d stored as (1,)
    meta = {"step": str(step), "param_groups": json.dumps(sd["param_groups"]), "extra": json.dumps(extra)}
    sha = save_safetensors(path, tensors, meta)
    if not (Path(path).parent / RUN_MARK).is_file():  # not a run folder zoo made (guard.claim_run_dir): prune nothing
        return sha
    old = sorted(p for p in Path(path).parent.iterdir() if CKPT_RE.match(p.name))
    for p in old[:-keep] if keep > 0 else []:
        p.unlink(missing_ok=True)
    return sha


def load_checkpoint(path: Path, *, model: nn.Module, ema: dict[str, torch.Tensor] | None,
                    optimizer: torch.optim.Optimizer) -> tuple[int, dict[str, Any]]:
    """Restore model, EMA and optimizer in place; returns (step, extra)."""
    tensors, meta = load_safetensors(Path(path))
    try:
        step = int(meta["step"])
        groups = json.loads(meta["param_groups"])
        extra = json.loads(meta.get("extra", "{}"))
    except (KeyError, ValueError):
        raise ConfigError(f"'{path}' is not a zoo training checkpoint (metadata missing). Delete it or pick another.") from None
    model_sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_sd)
    except RuntimeError as exc:
        raise ConfigError(f"Checkpoint '{path}' does not fit this model ({str(exc).splitlines()[0]}). "
                          "Use a new run_dir or the same model config.") from None
    if ema is not None:
        for k in ema:
            ema[k].copy_(tensors.get(f"ema.{k}", model_sd[k]))
    state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, key = k.split(".", 2)
            state.setdefault(int(idx), {})[key] = v.reshape(()) if key == "step" else v
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return step, extra
