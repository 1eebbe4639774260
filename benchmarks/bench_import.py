"""Imported community files against the built-in card of the same architecture, on zoo's default CPU path.

Each built-in card's own weights are written out the way community files come (ESRGAN's original `model.N`
layout for x4plus-anime, Real-ESRGAN's `params` .pth for animevideov3), imported with `zoo import` into a private
ZOO_HOME (a temporary folder: the built-in weights are rebuilt there offline), then both cards upscale the same image with the same threads: pairs interleaved, order flipped every
other pair, the ratio (imported / built-in) taken per pair in wall clock and in process CPU time; medians printed.
The outputs are compared too (same weights: they must be equal).

    .venv/bin/python benchmarks/bench_import.py [--size 256] [--reps 3] [--threads 2] [--home TMPDIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

PAIRS = {"realesrgan-x4plus-anime": "esrgan-old", "realesrgan-animevideov3-4x": "compact"}


def old_esrgan_names(state: dict) -> dict:
    """BasicSR's RRDBNet names (zoo's) → the original ESRGAN repository's `model.N` sequential names."""
    blocks = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    tops = {"conv_first": "model.0", "conv_body": f"model.1.sub.{blocks}", "conv_up1": "model.3", "conv_up2": "model.6",
            "conv_hr": "model.8", "conv_last": "model.10"}
    out = {}
    for key, value in state.items():
        head, _, param = key.rpartition(".")
        if head in tops:
            out[f"{tops[head]}.{param}"] = value
        else:  # body.i.rdbk.convj
            _, i, rdb, conv = head.split(".")
            out[f"model.1.sub.{i}.RDB{rdb[3:]}.{conv}.0.{param}"] = value
    return out


def community_file(card_name: str, folder: Path) -> Path:
    """The built-in card's weights saved as a community .pth."""
    import zoo
    from zoo_core.weights.safetensors_io import load_safetensors

    tensors, _ = load_safetensors(zoo.fetch(card_name))
    state = old_esrgan_names(tensors) if PAIRS[card_name] == "esrgan-old" else tensors
    path = folder / f"{card_name}-community.pth"
    torch.save({"params": state}, path)
    return path


def timed(up, x: torch.Tensor) -> tuple[float, float, np.ndarray]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = up.upscale_tensor(x).numpy()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", help="a ZOO_HOME to use (default: a new temporary folder)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    home = args.home or tempfile.mkdtemp(prefix="zoo-bench-import-")
    os.environ["ZOO_HOME"] = home  # nothing of this run lands in the user's zoo cache
    import zoo

    x = torch.rand(3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    for builtin in PAIRS:
        path = community_file(builtin, Path(home))
        done = zoo.import_model(path, name=f"{builtin.removeprefix('realesrgan-')}-imported")
        a, b = zoo.load(builtin, threads=args.threads), zoo.load(done.card.name, threads=args.threads)
        walls, cpus = [], []
        for rep in range(args.reps):
            first, second = (a, b) if rep % 2 == 0 else (b, a)
            t1, c1, o1 = timed(first, x)
            t2, c2, o2 = timed(second, x)
            (ta, ca, oa), (tb, cb, ob) = ((t1, c1, o1), (t2, c2, o2)) if rep % 2 == 0 else ((t2, c2, o2), (t1, c1, o1))
            walls.append(tb / ta)
            cpus.append(cb / ca)
        mpx = args.size * args.size / 1e6
        print(f"{builtin} ({a.backend}) vs imported {done.layout} file ({b.backend}), {args.size}², {args.threads} "
              f"threads: imported/built-in {statistics.median(walls):.2f}x wall, {statistics.median(cpus):.2f}x CPU "
              f"(built-in {ta / mpx:.1f} s/MP); outputs equal: {np.array_equal(oa, ob)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
