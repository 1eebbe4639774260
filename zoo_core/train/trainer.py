"""The training loop, shaped like minGPT's: a Trainer over built parts, with events for callbacks.

`train(cfg)` is the convenience `zoo train` uses: build the parts from a config (parts.py), then run a Trainer.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..architecture import Geometry
from ..errors import ConfigError
from ..infer.shard import from_env, join
from .checkpoint import checkpoint_path, latest_checkpoint, load_checkpoint, save_checkpoint
from .config import OptimConfig, TrainConfig, to_dict, use_bf16
from .dataset import StepBatchSampler
from .events import Events, StopRequest, stop_on_signals
from .guard import claim_run_dir
from .metrics import psnr
from .optim import averaged_weights, ema_start, ema_update, lr_at, make_optimizer
from .parts import Parts, build_parts
from .protocols import checkpointed_forward, require_checkpointing
from .validation import ValPair, validate

__all__ = ["Checkpoints", "Parts", "TrainState", "Trainer", "Validation", "build_parts", "lr_at", "train"]


@dataclass
class TrainState:
    """What callbacks see."""

    cfg: TrainConfig | None = None  # set by train(); None for a Trainer built from hand-made parts
    steps: int = 0  # the step training ends at (optim.steps)
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
    signum: int = 0  # the signal that stopped it


@dataclass(frozen=True)
class Validation:
    """Held-out pairs, scored every `every` steps and at the last (0: never)."""

    pairs: Sequence[ValPair]
    geometry: Geometry
    every: int


@dataclass(frozen=True)
class Checkpoints:
    """Where checkpoints go and resume comes from; every N steps and at the last (0: only when stopped)."""

    run_dir: Path
    every: int = 0
    config: dict[str, Any] = field(default_factory=dict)  # stored in each checkpoint, for the record


class Diverged(ConfigError):
    """The loss became NaN or infinite: the run stops before it writes a checkpoint or a card of it."""


def _dist_env() -> tuple[int, int]:
    """(rank, world) under torchrun, joining its group through infer/shard (the one torchrun bootstrap)."""
    me = from_env()
    join(me, "nccl" if torch.cuda.is_available() and os.environ.get("ZOO_DIST_BACKEND") != "gloo" else "gloo")
    return (dist.get_rank(), me.world) if me.distributed else (0, 1)


def _device(name: str, world: int) -> torch.device:
    """The configured device; under torchrun on GPUs, this rank's own GPU."""
    device = torch.device(f"cuda:{from_env().local_rank}" if name == "cuda" and world > 1 else name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def _use_threads(o: OptimConfig) -> None:
    if o.threads > 0:  # 0 leaves torch's default
        torch.set_num_threads(o.threads)


class Trainer:
    """Trains a built model on a dataset with a loss and AdamW settings; run() once, callbacks hook its events."""

    def __init__(self, model: nn.Module, dataset: Dataset, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 optim: OptimConfig, *, device: str | None = None, validation: Validation | None = None,
                 checkpoints: Checkpoints | None = None, workers: int = 0) -> None:
        if optim.checkpointing:
            require_checkpointing(model, type(model).__name__)
        _use_threads(optim)
        self.model, self.dataset, self.loss, self.optim = model, dataset, loss, optim
        self.validation, self.checkpoints, self.workers, self.events = validation, checkpoints, workers, Events()
        rank, world = _dist_env()
        self.state = TrainState(steps=optim.steps, rank=rank, world=world)
        self.device, self.bf16 = _device(device or optim.device, world), use_bf16(optim)
        self.fmt = torch.channels_last if optim.channels_last else torch.contiguous_format
        model.to(self.device, memory_format=self.fmt).train()
        self.opt, self.ema = make_optimizer(model, optim), ema_start(model, optim)

    def add_callback(self, event: str, fn: Callable[..., Any]) -> None:
        """Call fn(state, ...) at on_step, on_validate (+ result), on_checkpoint (+ path) or on_end (rank 0)."""
        self.events.add(event, fn)

    def add_callbacks(self, objects: Iterable[object]) -> None:
        """Register each object's on_* methods (any subset), as ProgressCallback and JsonlLogCallback have."""
        self.events.add_objects(objects)

    def run(self, *, resume: bool = True) -> TrainState:
        """Train to optim.steps, from the newest checkpoint when resume; SIGTERM/SIGINT checkpoint and stop."""
        if self.checkpoints is not None:  # checkpoints are written and pruned only in a folder zoo made
            claim_run_dir(self.checkpoints.run_dir)
        if resume:
            self._resume()
        # one process only (DDP ranks would need to agree first), and only the main thread may set signal handlers
        alone = self.state.world == 1 and threading.current_thread() is threading.main_thread()
        with stop_on_signals(alone) as stop, checkpointed_forward(self.model, self.optim.checkpointing):
            self._loop(stop)
        return self._finish()

    def _resume(self) -> None:
        ckpt = latest_checkpoint(self.checkpoints.run_dir) if self.checkpoints is not None else None
        if ckpt is not None:
            self.state.step, extra = load_checkpoint(ckpt, model=self.model, ema=self.ema, optimizer=self.opt)
            self.state.history = extra.get("history", [])

    def _loader(self) -> DataLoader:
        s, o = self.state, self.optim
        sampler = StepBatchSampler(start_step=s.step, steps=o.steps, batch_size=o.batch_size, rank=s.rank, world=s.world)
        return DataLoader(self.dataset, batch_sampler=sampler, num_workers=self.workers,
                          persistent_workers=False, prefetch_factor=4 if self.workers else None)

    def _loop(self, stop: StopRequest | None) -> None:
        s = self.state
        net: nn.Module = nn.parallel.DistributedDataParallel(self.model) if s.world > 1 else self.model
        t0, seen = time.perf_counter(), 0
        for x, y in self._loader():
            lr, y = lr_at(s.step, self.optim), y.to(self.device)
            loss, pred = self._step(net, x.to(self.device, memory_format=self.fmt), y, lr)
            if not math.isfinite(loss):  # nothing after this step is worth keeping: no checkpoint, no export
                raise Diverged(f"Training diverged at step {s.step + 1}: the loss is {loss}. Nothing was exported; "
                               "the checkpoints already written are kept. Lower optim.lr, set optim.clip_grad "
                               "(e.g. 1.0) or check the loss options.")
            seen += x.shape[0] * s.world
            s.step, s.lr, s.loss, s.psnr = s.step + 1, lr, loss, psnr(pred, y)
            s.samples_per_s = seen / max(1e-9, time.perf_counter() - t0)
            if s.rank == 0:
                self._after_step(stop)
            if s.stopped:
                break

    def _step(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float) -> tuple[float, torch.Tensor]:
        """One optimisation step; returns the loss and the (detached) prediction."""
        o = self.optim
        for g in self.opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            pred = net(x)
        pred = pred.float()
        loss = self.loss(pred, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if o.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.clip_grad)
        self.opt.step()
        if self.ema is not None:
            ema_update(self.ema, self.model, o.ema, o.foreach_ema)
        return float(loss.detach()), pred.detach()

    def _after_step(self, stop: StopRequest | None) -> None:
        """Rank 0: on_step, validation every N steps and checkpoints (also when a stop was requested)."""
        s, v, c = self.state, self.validation, self.checkpoints
        self.events.fire("on_step", s)
        last = s.step == self.optim.steps
        s.stopped = stop is not None and stop.requested and not last
        s.signum = stop.signum if s.stopped and stop is not None else 0
        if v is not None and v.pairs and self._due(v.every, last):
            self._validate(v)
        if c is not None and (s.stopped or self._due(c.every, last)):
            self._checkpoint(c)

    def _due(self, every: int, last: bool) -> bool:
        return every > 0 and (self.state.step % every == 0 or last)

    def _validate(self, v: Validation) -> None:
        s = self.state
        with averaged_weights(self.model, self.ema) as model:  # export ships the EMA weights by default
            s.last_validation = validate(model, v.geometry, v.pairs)
        s.history.append({"step": s.step, **s.last_validation})
        self.events.fire("on_validate", s, s.last_validation)

    def _checkpoint(self, c: Checkpoints) -> None:
        s = self.state
        path = checkpoint_path(c.run_dir, s.step)
        save_checkpoint(path, step=s.step, model=self.model, ema=self.ema, optimizer=self.opt,
                        extra={"history": s.history, "config": c.config})
        self.events.fire("on_checkpoint", s, path)

    def _finish(self) -> TrainState:
        s = self.state
        if s.rank == 0:
            self.events.fire("on_end", s)
        if s.world > 1:
            dist.barrier()
            dist.destroy_process_group()
        s.ema, s.model = self.ema, self.model
        return s


def train(cfg: TrainConfig, *, callbacks: Sequence[Any] = (), resume: bool = True,
          parts: Parts | None = None) -> TrainState:
    """Train until cfg.optim.steps (what `zoo train` does): build the parts unless given, then run a Trainer."""
    _use_threads(cfg.optim)  # before building, as the parts' images are made with the configured threads
    parts = parts or build_parts(cfg)
    if parts.dataset is None:
        raise ConfigError("train() needs parts built with data (build_parts(cfg, with_data=True)).")
    trainer = Trainer(parts.model, parts.dataset, parts.loss, cfg.optim, workers=cfg.data.workers,
                      validation=Validation(parts.val_pairs, parts.geometry, cfg.validate.every),
                      checkpoints=Checkpoints(Path(cfg.run_dir), cfg.checkpoint_every, to_dict(cfg)))
    trainer.state.cfg = cfg
    trainer.add_callbacks(callbacks)
    return trainer.run(resume=resume)
