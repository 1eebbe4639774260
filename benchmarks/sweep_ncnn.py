"""Each tuning step of the ncnn backend, timed against the same reference as bench_upconv7.py.

Variants: tile size, tiles run concurrently (W workers × 1 ncnn thread) vs one tile on all threads,
and ncnn options. Interleaved with the reference every repetition; medians of per-pair ratios.

    .venv/bin/python benchmarks/sweep_ncnn.py [--size 512] [--reps 5] [--threads N] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
import statistics

UPCONV7 = Path(__file__).resolve().parents[1] / "plugins" / "zoo-upconv7" / "benchmarks"  # the reference harness
sys.path.insert(0, str(UPCONV7))
from bench_upconv7 import _timed, compare, reference_net, reference_upscale, test_image  # noqa: E402

import zoo
from zoo_core.default_plugins.backend_ncnn import OPTIONS, NcnnRunner, cpu_count
from zoo_core.default_plugins.ncnn_export import export_ncnn
from zoo_core.infer.upscaler import Upscaler

# name: (tile, batch, workers, extra ncnn options)
VARIANTS: dict[str, tuple[int, int, int, dict[str, bool]]] = {
    "whole image, 1 tile on all threads": (4000, 1, 1, {}),
    "tile 256, 1 tile at a time on all threads": (256, 1, 1, {}),
    "tile 256, batch 2 concurrent (default)": (256, 2, 2, {}),
    "tile 128, batch 2 concurrent": (128, 2, 2, {}),
    "tile 192, batch 2 concurrent": (192, 2, 2, {}),
    "tile 256, concurrent, Winograd F(4,3) (no F(6,3))": (256, 2, 2, {"use_winograd63_convolution": False}),
    "tile 256, concurrent, no packing layout": (256, 2, 2, {"use_packing_layout": False}),
    "tile 256, concurrent, ncnn default options": (256, 2, 2, {"__default__": True}),
}


def make(name: str, threads: int) -> Upscaler:
    tile, batch, workers, extra = VARIANTS[name]
    base = zoo.load("upconv7-scale2x", backend="torch")  # for the card, geometry and the loaded module
    opts = {} if extra.get("__default__") else {**OPTIONS["fp32"], **extra}
    runner = NcnnRunner(model=export_ncnn(base.runner.module), threads=threads, workers=workers, options=opts)
    return Upscaler(card=base.card, geometry=base.geometry, runner=runner, backend="ncnn", device="cpu",
                    precision="fp32", tile_size=tile, batch_size=batch)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--only", nargs="*", default=None, help="substrings of variant names to run")
    args = p.parse_args()
    threads = args.threads or cpu_count()
    img = test_image(args.size)
    ref_net = reference_net(threads)
    ref = reference_upscale(ref_net, img)
    names = [n for n in VARIANTS if not args.only or any(s in n for s in args.only)]
    ups = {n: make(n, threads) for n in names}
    for n, up in ups.items():
        print(f"{n}: vs reference {compare(up.upscale(img), ref)}")
    ratios: dict[str, list[float]] = {n: [] for n in names}
    ref_times: list[float] = []
    for rep in range(args.reps):
        for n in names if rep % 2 == 0 else reversed(names):  # reference timed right before each variant
            t_ref = _timed(lambda: reference_upscale(ref_net, img))
            ratios[n].append(_timed(lambda: ups[n].upscale(img)) / t_ref)
            ref_times.append(t_ref)
        print(f"rep {rep}: " + "  ".join(f"{r[-1]:.3f}" for r in ratios.values()), flush=True)
    print(f"\n{args.size}x{args.size}, {threads} threads, reference median {1000 * statistics.median(ref_times):.0f} ms")
    print("| variant | median ratio zoo/ncnn | min | max |\n|---|---|---|---|")
    for n, r in ratios.items():
        print(f"| {n} | {statistics.median(r):.3f} | {min(r):.3f} | {max(r):.3f} |")


if __name__ == "__main__":
    main()
