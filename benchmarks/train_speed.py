"""Training throughput: one step of ESPCN_7 and DRRN-lite profiled by phase, and opt-in speedups in the same run.

Each model is built from its config (configs/espcn7.yaml: HR patch 80, batch 8; configs/drrn-lite.yaml:
3 units x recursions 1, HR patch 96, batch 16; configs/drrn-lite-7u.yaml: the same with 7 units) by the
trainer's own build_parts, with synthetic images standing in for the corpus (the patch pipeline is the same).
Phases of one step, as zoo_core.train.trainer runs them: data (patches + degradation + collate, workers 0),
forward, backward (+ grad clip), AdamW, EMA.
Then whole steps per variant, interleaved (the order flips every round) so that the background load
hits all alike; samples/s are medians and each is printed as a ratio to `today` (the config as it is).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_speed.py [--models espcn7 drrn-lite drrn-lite-7u]
        [--steps 3] [--rounds 2]
        [--variants today fused_adamw foreach_ema fused+foreach channels_last bf16 all compile]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import default_collate

from zoo_core.train.config import load_config, use_bf16
from zoo_core.train.optim import ema_update
from zoo_core.train.parts import build_parts

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
VARIANTS = {  # optim overrides per variant; "compile" also wraps the model in torch.compile
    "today": {},
    "fused_adamw": {"fused_adamw": True},
    "foreach_ema": {"foreach_ema": True},
    "fused+foreach": {"fused_adamw": True, "foreach_ema": True},
    "channels_last": "flip",
    "bf16": {"bf16": True},
    "all": {"fused_adamw": True, "foreach_ema": True, "bf16": True},
    "compile": {"fused_adamw": True, "foreach_ema": True},
}


class Case:
    """One model with one variant's optimiser, EMA and layout, stepping on prepared batches."""

    def __init__(self, model_name: str, variant: str) -> None:
        over = VARIANTS[variant]
        cfg = load_config(CONFIGS / f"{model_name}.yaml", {
            "data.corpus": "", "data.source_repeat": {}, "data.synthetic.count": 12, "data.scales": [1.0],
            "validate.corpus": "", "validate.synthetic.count": 0, "validate.every": 0})
        o = cfg.optim
        for k, v in (over.items() if isinstance(over, dict) else {"channels_last": not o.channels_last}.items()):
            setattr(o, k, v)
        self.cfg, self.parts = cfg, build_parts(cfg)
        self.fmt = torch.channels_last if o.channels_last else torch.contiguous_format
        self.model = self.parts.model.to(memory_format=self.fmt).train()
        self.net = torch.compile(self.model) if variant == "compile" else self.model
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=o.lr, betas=tuple(o.betas),
                                     weight_decay=o.weight_decay, **({"fused": True} if o.fused_adamw else {}))
        self.ema = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.next_index = 0

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch from the dataset, as the DataLoader would collate it with workers=0."""
        n, b = len(self.parts.dataset), self.cfg.optim.batch_size
        items = [self.parts.dataset[(self.next_index + i) % n] for i in range(b)]
        self.next_index += b
        x, y = default_collate(items)
        return x.to(memory_format=self.fmt), y

    def step(self, x: torch.Tensor, y: torch.Tensor, marks: list[float] | None = None) -> None:
        """Trainer._step's work, with a time mark after each phase when `marks` is given."""
        o = self.cfg.optim
        mark = (lambda: marks.append(time.perf_counter())) if marks is not None else (lambda: None)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16(o)):  # the trainer's rule: "auto" = native bf16 only
            pred = self.net(x)
        loss = self.parts.loss(pred.float(), y)
        mark()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if o.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.clip_grad)
        mark()
        self.opt.step()
        mark()
        ema_update(self.ema, self.model, o.ema, o.foreach_ema)
        mark()


def profile(case: Case, steps: int) -> None:
    """Median seconds per phase of one step, and its share."""
    rows: list[list[float]] = []
    for _ in range(steps):
        t0 = time.perf_counter()
        x, y = case.batch()
        marks = [t0, time.perf_counter()]
        case.step(x, y, marks)
        rows.append([b - a for a, b in zip(marks, marks[1:])])
    names = ["data", "forward+loss", "backward+clip", "AdamW", "EMA"]
    med = [statistics.median(r[i] for r in rows) for i in range(len(names))]
    total = sum(med)
    print("  phases: " + ", ".join(f"{n} {1000 * t:.0f} ms ({100 * t / total:.0f}%)" for n, t in zip(names, med)),
          flush=True)


def main() -> None:
    """Profile each model's step, then compare variants' samples/s (compute only, then with data)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["espcn7", "drrn-lite"], choices=["espcn7", "drrn-lite", "drrn-lite-7u"])
    ap.add_argument("--variants", nargs="+", default=["today", "fused+foreach", "channels_last", "bf16", "all"],
                    choices=list(VARIANTS))
    ap.add_argument("--steps", type=int, default=3, help="timed steps per variant per round")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), capability "
          f"{torch.backends.cpu.get_cpu_capability()}; {args.rounds} rounds x {args.steps} steps, medians")
    for name in args.models:
        cases = {v: Case(name, v) for v in dict.fromkeys(["today", *args.variants])}
        today = cases["today"]
        o = today.cfg
        print(f"\n{name}: HR patch {o.data.patch_size}, batch {o.optim.batch_size}, "
              f"channels_last {o.optim.channels_last} in the config")
        profile(today, args.steps)
        x, y = today.batch()
        rates: dict[str, list[float]] = {v: [] for v in cases}
        for case in cases.values():
            case.step(x.to(memory_format=case.fmt), y)  # warm-up (and compile)
        for r in range(args.rounds):
            for v in (list(cases) if r % 2 == 0 else list(reversed(cases))):
                xv = x.to(memory_format=cases[v].fmt)
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    cases[v].step(xv, y)
                rates[v].append(args.steps * len(x) / (time.perf_counter() - t0))
        base = statistics.median(rates["today"])
        data_s = statistics.median(_data_time(today) for _ in range(args.steps))
        for v, rs in rates.items():
            rate = statistics.median(rs)
            with_data = len(x) / (len(x) / rate + data_s)
            print(f"  {v:<14} {rate:7.2f} samples/s compute ({rate / base:.2f}x today), "
                  f"{with_data:6.2f} with data on the critical path, {rate:6.2f} with data off it", flush=True)


def _data_time(case: Case) -> float:
    t0 = time.perf_counter()
    case.batch()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
