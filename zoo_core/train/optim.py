"""The optimiser side of a step: AdamW as configured, the learning-rate schedule and the weight EMA."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from .config import OptimConfig, TrainConfig


def lr_at(step: int, cfg: TrainConfig | OptimConfig) -> float:
    """Linear warmup to lr, then cosine decay to min_lr at the last step."""
    o = cfg.optim if isinstance(cfg, TrainConfig) else cfg
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    t = (step - o.warmup_steps) / max(1, o.steps - o.warmup_steps)
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(model: nn.Module, o: OptimConfig) -> torch.optim.Optimizer:
    """AdamW with the configured settings; fused only when asked (unset: torch's default, as before)."""
    return torch.optim.AdamW(model.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay,
                             **({"fused": True} if o.fused_adamw else {}))


def ema_start(model: nn.Module, o: OptimConfig) -> dict[str, torch.Tensor] | None:
    """A copy of the weights to average into, or None when optim.ema is 0."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()} if o.ema > 0 else None


def ema_update(ema: dict[str, torch.Tensor], model: nn.Module, decay: float, foreach: bool = False) -> None:
    """ema = decay * ema + (1 - decay) * weights for float tensors; other buffers are copied."""
    if foreach:  # one multiply and one add kernel over all float tensors: no per-tensor Python overhead
        _ema_foreach(ema, model, decay)
        return
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                ema[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
            else:
                ema[k].copy_(v)


def _ema_foreach(ema: dict[str, torch.Tensor], model: nn.Module, decay: float) -> None:
    """ema_update's loop as foreach ops: the same mul_ then add_(alpha) per element, so the same numbers."""
    with torch.no_grad():
        state = model.state_dict()
        floats = [k for k, v in state.items() if v.dtype.is_floating_point]
        averaged = [ema[k] for k in floats]
        torch._foreach_mul_(averaged, decay)
        torch._foreach_add_(averaged, [state[k].detach() for k in floats], alpha=1 - decay)
        for k, v in state.items():
            if not v.dtype.is_floating_point:
                ema[k].copy_(v)


@contextmanager
def averaged_weights(model: nn.Module, ema: dict[str, torch.Tensor] | None) -> Iterator[nn.Module]:
    """Inside, the model holds the EMA weights (when there are any); its own are put back after."""
    if ema is None:
        yield model
        return
    saved = {k: t.clone() for k, t in model.state_dict().items()}
    model.load_state_dict(ema)
    try:
        yield model
    finally:
        model.load_state_dict(saved)
