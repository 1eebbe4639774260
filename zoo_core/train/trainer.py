"""One trainer for every registered architecture, loss and degradation (optionally under torchrun)."""
from __future__ import annotations

import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ..architecture import Geometry
from ..errors import ConfigError
from ..infer.shard import from_env, join
from ..registry import get_registry
from .checkpoint import checkpoint_path, latest_checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig, to_dict, use_bf16
from .dataset import (PatchDataset, StepBatchSampler, corpus_files, corpus_images, image_files, load_images, rescaled,
                      spread)
from .metrics import psnr
from .synthetic import synthetic_images
from .validation import ValPair, make_pairs, validate, validation_images


@dataclass
class TrainState:
    """What callbacks see."""

    cfg: TrainConfig
    step: int = 0
    loss: float = float("nan")
    psnr: float = float("nan")
    samples_per_s: float = 0.0
    lr: float = 0.0
    rank: int = 0
    world: int = 1
    last_validation: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    ema: dict[str, torch.Tensor] | None = None
    model: nn.Module | None = None
    stopped: bool = False  # SIGTERM/SIGINT: a checkpoint was written and the loop left early


def _call(callbacks: Sequence[Any], name: str, *args: Any) -> None:
    """Call on_step/on_validate/on_checkpoint/on_end on each callback that has it (rank 0; any subset)."""
    for cb in callbacks:
        fn = getattr(cb, name, None)
        if fn is not None:
            fn(*args)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to lr, then cosine decay to min_lr at the last step."""
    o = cfg.optim
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    t = (step - o.warmup_steps) / max(1, o.steps - o.warmup_steps)
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))


class _StopRequest:
    """SIGTERM/SIGINT set a flag instead of killing the run, so the loop can checkpoint first."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True

    def restore(self) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)


def _dist_env() -> tuple[int, int]:
    """(rank, world) under torchrun, joining its group through infer/shard (the one torchrun bootstrap)."""
    me = from_env()
    join(me, "nccl" if torch.cuda.is_available() and os.environ.get("ZOO_DIST_BACKEND") != "gloo" else "gloo")
    return (dist.get_rank(), me.world) if me.distributed else (0, 1)


@dataclass
class Parts:
    """Everything built from a config."""

    model: nn.Module
    geometry: Geometry
    dataset: PatchDataset | None
    loss: Any
    val_pairs: list[ValPair]


def build_parts(cfg: TrainConfig, *, with_data: bool = True) -> Parts:
    """Model, dataset (unless with_data=False), loss and validation pairs, all from the registry by name."""
    reg = get_registry()
    arch = reg.architecture(cfg.model.architecture)
    hp = arch.resolve_hyperparameters(cfg.model.hyperparameters)
    geometry = arch.geometry(hp)
    torch.manual_seed(cfg.optim.seed)
    model = arch.create(hp)
    if cfg.model.init:
        _init_weights(model, cfg.model.architecture, cfg.model.init)
    deg_spec, loss_spec = reg.degradation(cfg.degradation.name), reg.loss(cfg.loss.name)
    try:
        degradation = deg_spec.create(**{**deg_spec.options, **cfg.degradation.options})
        loss = loss_spec.create(**cfg.loss.options)
    except TypeError as exc:
        raise ConfigError(f"Bad options for degradation '{deg_spec.name}' or loss '{loss_spec.name}': {exc}.") from None
    d, dataset = cfg.data, None
    if with_data:
        images = rescaled(load_images(image_files(d.dirs, d.exclude)), d.scales)
        images = (images + (corpus_images(d.corpus, d.scales, d.source_repeat) if d.corpus else [])) * d.repeat
        images += synthetic_images(d.synthetic.count, size=d.synthetic.size, seed=d.synthetic.seed)
        dataset = PatchDataset(images, patch_size=d.patch_size, max_patch_per_img=d.max_patch_per_img,
                               degradation=degradation, geometry=geometry, seed=cfg.optim.seed, augment=d.augment,
                               sampling=d.sampling)
    v = cfg.validate
    held = list(v.files) + ([str(f) for f in spread(corpus_files(v.corpus, "val"), v.count)] if v.corpus else [])
    val = validation_images(held, v.synthetic.count, v.synthetic.size, v.synthetic.seed)
    pairs = make_pairs(val, degradation=degradation, scale=geometry.scale, max_side=v.max_side)
    return Parts(model, geometry, dataset, loss, pairs)


def _init_weights(model: nn.Module, arch_id: str, scheme: str) -> None:
    """Apply the model's own named initialisation (a resumed run then overwrites it from the checkpoint)."""
    schemes = tuple(getattr(model, "init_schemes", ()))
    if scheme not in schemes:
        offered = ", ".join(schemes) or "none"
        raise ConfigError(f"model.init is '{scheme}', but architecture '{arch_id}' offers: {offered}. "
                          "Remove model.init or pick one of those.")
    model.init_weights(scheme)  # type: ignore[operator]


def _ema_update(ema: dict[str, torch.Tensor], model: nn.Module, decay: float, foreach: bool = False) -> None:
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
    """_ema_update's loop as foreach ops: the same mul_ then add_(alpha) per element, so the same numbers."""
    with torch.no_grad():
        state = model.state_dict()
        floats = [k for k, v in state.items() if v.dtype.is_floating_point]
        averaged = [ema[k] for k in floats]
        torch._foreach_mul_(averaged, decay)
        torch._foreach_add_(averaged, [state[k].detach() for k in floats], alpha=1 - decay)
        for k, v in state.items():
            if not v.dtype.is_floating_point:
                ema[k].copy_(v)


def _validate_with(parts: Parts, ema: dict[str, torch.Tensor] | None) -> dict[str, float]:
    if ema is None:
        return validate(parts.model, parts.geometry, parts.val_pairs)
    saved = {k: v.clone() for k, v in parts.model.state_dict().items()}
    parts.model.load_state_dict(ema)
    try:
        return validate(parts.model, parts.geometry, parts.val_pairs)
    finally:
        parts.model.load_state_dict(saved)


def _device(name: str, world: int) -> torch.device:
    """The configured device; under torchrun on GPUs, this rank's own GPU."""
    device = torch.device(f"cuda:{from_env().local_rank}" if name == "cuda" and world > 1 else name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def _step(net: nn.Module, model: nn.Module, opt: torch.optim.Optimizer, ema: dict[str, torch.Tensor] | None,
          loss_fn: Any, x: torch.Tensor, y: torch.Tensor, *, lr: float, cfg: TrainConfig) -> tuple[float, torch.Tensor]:
    """One optimisation step; returns the loss and the (detached) prediction."""
    o = cfg.optim
    for g in opt.param_groups:
        g["lr"] = lr
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=use_bf16(o)):
        pred = net(x)
    pred = pred.float()
    loss = loss_fn(pred, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if o.clip_grad > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.clip_grad)
    opt.step()
    if ema is not None:
        _ema_update(ema, model, o.ema, o.foreach_ema)
    return float(loss.detach()), pred.detach()


def _after_step(state: TrainState, parts: Parts, model: nn.Module, opt: torch.optim.Optimizer,
                ema: dict[str, torch.Tensor] | None, callbacks: Sequence[Any], stop: _StopRequest | None) -> None:
    """Rank 0: callbacks, validation every N steps and checkpoints (also when a stop was requested)."""
    cfg = state.cfg
    _call(callbacks, "on_step", state)
    last = state.step == cfg.optim.steps
    state.stopped = stop is not None and stop.requested and not last
    if cfg.validate.every > 0 and parts.val_pairs and (state.step % cfg.validate.every == 0 or last):
        state.last_validation = _validate_with(parts, ema)
        state.history.append({"step": state.step, **state.last_validation})
        _call(callbacks, "on_validate", state, state.last_validation)
    if state.stopped or cfg.checkpoint_every > 0 and (state.step % cfg.checkpoint_every == 0 or last):
        path = checkpoint_path(Path(cfg.run_dir), state.step)
        save_checkpoint(path, step=state.step, model=model, ema=ema, optimizer=opt,
                        extra={"history": state.history, "config": to_dict(cfg)})
        _call(callbacks, "on_checkpoint", state, path)


def train(cfg: TrainConfig, *, callbacks: Sequence[Any] = (), resume: bool = True,
          parts: Parts | None = None) -> TrainState:
    """Train until cfg.optim.steps; resumes from the newest checkpoint in cfg.run_dir when asked."""
    o = cfg.optim
    if o.threads > 0:
        torch.set_num_threads(o.threads)
    rank, world = _dist_env()
    parts = parts or build_parts(cfg)
    if parts.dataset is None:
        raise ConfigError("train() needs parts built with data (build_parts(cfg, with_data=True)).")
    device, model = _device(o.device, world), parts.model
    fmt = torch.channels_last if o.channels_last else torch.contiguous_format
    model.to(device, memory_format=fmt).train()
    checkpointing = o.checkpointing and hasattr(model, "forward_checkpoint")
    if checkpointing:
        model.forward = model.forward_checkpoint  # type: ignore[method-assign]  # DDP calls module.forward
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay,
                            **({"fused": True} if o.fused_adamw else {}))  # unset: torch's default, as before
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()} if o.ema > 0 else None
    state = TrainState(cfg=cfg, rank=rank, world=world)
    ckpt = latest_checkpoint(Path(cfg.run_dir)) if resume else None
    if ckpt is not None:
        state.step, extra = load_checkpoint(ckpt, model=model, ema=ema, optimizer=opt)
        state.history = extra.get("history", [])
    net: nn.Module = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    sampler = StepBatchSampler(start_step=state.step, steps=o.steps, batch_size=o.batch_size, rank=rank, world=world)
    loader = DataLoader(parts.dataset, batch_sampler=sampler, num_workers=cfg.data.workers,
                        persistent_workers=False, prefetch_factor=4 if cfg.data.workers else None)
    lead = rank == 0
    t0, seen = time.perf_counter(), 0
    main_thread = threading.current_thread() is threading.main_thread()
    stop = _StopRequest() if world == 1 and main_thread else None  # DDP ranks would need to agree first
    try:
        for x, y in loader:
            loss, pred = _step(net, model, opt, ema, parts.loss, x.to(device, memory_format=fmt), y.to(device),
                               lr=lr_at(state.step, cfg), cfg=cfg)
            state.step, state.lr = state.step + 1, lr_at(state.step, cfg)
            seen += x.shape[0] * world
            state.loss, state.psnr = loss, psnr(pred, y.to(device))
            state.samples_per_s = seen / max(1e-9, time.perf_counter() - t0)
            if lead:
                _after_step(state, parts, model, opt, ema, callbacks, stop)
            if state.stopped:
                break
    finally:
        if stop is not None:
            stop.restore()
    if lead:
        _call(callbacks, "on_end", state)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if checkpointing:
        del model.forward  # back to the class's forward
    state.ema, state.model = ema, model
    return state
