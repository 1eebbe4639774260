"""Training throughput (samples/s, forward + backward + AdamW step) for ESPCN_7 and DRRN-lite.

ESPCN_7 on the seed's 96→192 patches and DRRN-lite on the 48→96 patches its config uses, in fp32
and bf16 autocast, contiguous and channels_last; every figure is printed as a ratio to the first case
(ESPCN_7 fp32 contiguous by default) measured in the same process. The seed reports 50
samples (96→192) per 2.8 s on a K80 GPU.

    .venv/bin/python benchmarks/train_speed.py [--threads N] [--reps R] [--models ...] [--precisions ...] [--layouts ...]
"""
from __future__ import annotations

import argparse
import time

import torch

import zoo
from zoo_core.train.losses import weighted_mse

SEED_K80 = 50 / 2.8  # samples/s, ESPCN_7 96→192 on a K80 (the seed's figure)


def samples_per_s(arch_id: str, lr_side: int, batch: int, *, bf16: bool, channels_last: bool, reps: int) -> float:
    """Median-free simple rate: one warm-up step, then `reps` timed steps."""
    arch = zoo.get_registry().architecture(arch_id)
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = arch.create().to(memory_format=fmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = weighted_mse()
    s = arch.geometry().scale
    x = torch.rand(batch, 3, lr_side, lr_side).to(memory_format=fmt)
    y = torch.rand(batch, 3, lr_side * s, lr_side * s)
    t0 = 0.0
    for i in range(reps + 1):
        if i == 1:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = model(x)
        loss = loss_fn(pred.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return batch * reps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=["espcn7", "drrn-lite"], choices=["espcn7", "drrn-lite"])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--layouts", nargs="+", default=["contiguous", "channels_last"], choices=["contiguous", "channels_last"])
    ap.add_argument("--patch", type=int, help="LR patch side for every model (default: ESPCN_7 96, DRRN-lite 48)")
    ap.add_argument("--batch", type=int, help="batch size for every model (default: ESPCN_7 4, DRRN-lite 16)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = [(m, args.patch or side, args.batch or batch)
             for m, side, batch in [("espcn7", 96, 4), ("drrn-lite", 48, 16)] if m in args.models]
    ref, espcn_fp32 = None, None
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.reps} timed steps per case")
    print(f"{'model':<10} {'patch':<8} {'batch':>5} {'precision':<9} {'layout':<13} {'samples/s':>9} {'vs ref':>7}")
    for arch_id, side, batch in cases:
        for bf16 in [p == "bf16" for p in args.precisions]:
            for cl in [lay == "channels_last" for lay in args.layouts]:
                rate = samples_per_s(arch_id, side, batch, bf16=bf16, channels_last=cl, reps=args.reps)
                ref = ref or rate
                if arch_id == "espcn7" and not bf16 and espcn_fp32 is None:
                    espcn_fp32 = rate
                print(f"{arch_id:<10} {f'{side}->{side * 2}':<8} {batch:>5} {'bf16' if bf16 else 'fp32':<9} "
                      f"{'channels_last' if cl else 'contiguous':<13} {rate:9.2f} {rate / ref:6.2f}x", flush=True)
    if espcn_fp32 and not args.patch:
        print(f"seed's K80 figure for ESPCN_7 96->192: {SEED_K80:.1f} samples/s ({SEED_K80 / espcn_fp32:.1f}x ESPCN_7 fp32 here)")


if __name__ == "__main__":
    main()
