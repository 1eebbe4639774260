"""The GPU path, prepared for a session with a CUDA GPU (issue 17 goal 4): inference MP/s per card family in
fp16/bf16 with batched tiles, the fraction of the GPU's measured fp16 matmul peak that the multiply-adds per
pixel imply, and training samples/s for ESPCN_7 and DRRN-lite (bf16 autocast, fused AdamW, channels_last).

Prints Markdown tables to paste into benchmarks/README.md. `--device cpu --size 64 --train-steps 1` is a
smoke run of the script's own logic (no GPU figures).

    .venv/bin/python benchmarks/gpu_bench.py [--size 2048] [--reps 3] [--precisions fp16 bf16] [--batch 8]
        [--tile 512] [--cards A B] [--train-steps 20] [--device cuda]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import zoo
from zoo_core.cost import cost

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_costs import one_card_per_family, test_image  # noqa: E402

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
TRAIN = [("espcn7", 80, 8, False), ("drrn-lite", 96, 16, True)]  # configs/*.yaml: HR patch, batch, channels_last


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(device: str, dtype: torch.dtype, n: int = 8192, reps: int = 10) -> float:
    """Best measured dense matmul TFLOP/s in `dtype` (the practical peak the conv figures are set against)."""
    n = n if device.startswith("cuda") else 512
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    a @ b
    sync(device)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e12


def inference(args: argparse.Namespace) -> None:
    """MP/s per card and precision; fraction of peak = 2·MACs/px · px/s / matmul peak."""
    img = test_image(args.size)
    mp = img.shape[0] * img.shape[1] / 1e6
    print(f"\n{args.size}x{args.size}, tile {args.tile}, batch {args.batch}, {args.reps} reps, medians")
    print("| card | precision | s / image | MP/s (input) | TFLOP/s from MACs | of matmul peak |")
    print("|---|---|---:|---:|---:|---:|")
    for prec in args.precisions:
        peak = matmul_peak(args.device, DTYPES[prec])
        print(f"| (matmul peak) | {prec} | | | {peak:.1f} | 100% |", flush=True)
        for name in one_card_per_family(args.cards):
            try:
                up = zoo.load(name, device=args.device, precision=prec, tile_size=args.tile, batch_size=args.batch)
                up.upscale(img[:64, :64])
            except zoo.ZooError as err:
                print(f"| {name} | {prec} | skipped: {str(err).splitlines()[0]} | | | |", flush=True)
                continue
            macs = cost(zoo.get_registry().architecture(up.card.architecture), up.card.hyperparameters)
            times = []
            for _ in range(args.reps):
                sync(args.device)
                t = time.perf_counter()
                up.upscale(img)
                sync(args.device)
                times.append(time.perf_counter() - t)
            s = statistics.median(times)
            tflops = 2 * macs["macs_per_input_pixel"] * mp * 1e6 / s / 1e12
            print(f"| {name} | {prec} | {s:.2f} | {mp / s:.1f} | {tflops:.1f} | {100 * tflops / peak:.0f}% |", flush=True)


def train_rate(arch_id: str, patch: int, batch: int, channels_last: bool, steps: int, device: str,
               bf16: bool) -> float:
    """Samples/s of forward + weighted MSE + backward + fused AdamW on random patches already on the device."""
    from zoo_core.train.losses import weighted_mse

    arch = zoo.get_registry().architecture(arch_id)
    hp = {"units": 7, "recursions": 1} if arch_id == "drrn-lite" else {}  # drrn-lite-7u's shape (the noise cards' too)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = arch.create(hp).to(device, memory_format=fmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.startswith("cuda"))
    loss_fn = weighted_mse()
    s = arch.geometry(hp).scale
    x = torch.rand(batch, 3, patch // s, patch // s, device=device).to(memory_format=fmt)
    y = torch.rand(batch, 3, patch, patch, device=device)
    t0 = 0.0
    for i in range(steps + 2):
        if i == 2:  # two warm-up steps (cuDNN autotuning, allocator)
            sync(device)
            t0 = time.perf_counter()
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            pred = model(x)
        loss = loss_fn(pred.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return batch * steps / (time.perf_counter() - t0)


def training(args: argparse.Namespace) -> None:
    print(f"\ntraining, {args.train_steps} timed steps after 2 warm-ups, random patches on the device")
    print("| model | HR patch | batch | fp32 samples/s | bf16 autocast samples/s |")
    print("|---|---:|---:|---:|---:|")
    for arch_id, patch, batch, cl in TRAIN:
        rates = [train_rate(arch_id, patch, batch, cl, args.train_steps, args.device, bf16) for bf16 in (False, True)]
        print(f"| {arch_id} | {patch} | {batch} | {rates[0]:.0f} | {rates[1]:.0f} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--precisions", nargs="+", default=["fp16", "bf16"], choices=list(DTYPES))
    p.add_argument("--cards", nargs="+", default=None)
    p.add_argument("--train-steps", type=int, default=20)
    args = p.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("gpu_bench: no CUDA GPU here; run it where `python -c 'import torch; print(torch.cuda.is_available())'` "
                 "prints True, or pass --device cpu for a smoke run.")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu (smoke run)"
    print(f"{name}; torch {torch.__version__}; numpy {np.__version__}")
    inference(args)
    training(args)


if __name__ == "__main__":
    main()
