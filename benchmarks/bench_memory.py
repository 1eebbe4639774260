"""Peak memory of upscaling a 4096×4096 RGB image on the CPU, per card (goal: peak RSS under 3 GB).

Each measurement runs in a fresh subprocess; the parent reads the child's peak RSS with
resource.getrusage(RUSAGE_CHILDREN) after it exits. A 16×16 run gives the baseline (Python, torch,
ncnn and the model loaded), so the image's own cost is the difference.

--stop-after N (for the slow families on a busy box): the child stops after N tiles, then writes every
byte of an output-sized array, so the peak it reports is the steady working set after N tiles plus the
whole output resident, an estimate of the full run's peak (the per-tile buffers do not grow after the
first batches); the line says "est.". A model with image-wide SE statistics (CUNet, Real-CUGAN) runs a
gathering pass per SE block over every tile first: there each pass also stops after N tiles (its gates
are then wrong, its memory is not).

    .venv/bin/python benchmarks/bench_memory.py [--cards A B] [--size 4096] [--backend ncnn|torch] [--tile N]
        [--batch N] [--stop-after N]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

LIMIT = 3 * 1000**3  # "3 GB"

CHILD = """
import itertools, json, sys, time
import numpy as np
import zoo
card, size, backend, tile, batch, stop_after = json.loads(sys.argv[1])
up = zoo.load(card, backend=backend, tile_size=tile, batch_size=batch)
img = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)  # no float temporaries
t, done = time.perf_counter(), [0]

class Enough(Exception):
    pass

def tick(n):
    done[0] += n
    if stop_after and done[0] >= stop_after:
        raise Enough

gather = getattr(up.runner, "prepare_image", None)
if stop_after and gather:  # image-wide SE: each gathering pass sees its first N tiles only
    up.runner.prepare_image = lambda tiles, **kw: gather(lambda: itertools.islice(tiles(), stop_after), **kw)

try:
    out = up.upscale(img, on_tile=tick)
    shape = list(out.shape)
except Enough:
    s = up.geometry.scale
    shape = [size * s, size * s, 3]
    np.ones(shape, np.uint8)  # the output, every page resident
tile, batch = up.layout(size, size, tile)  # this image's (the default may depend on the image size)
print(json.dumps({"backend": up.backend, "tile": tile, "batch": batch, "tiles": done[0],
                  "shape": shape, "seconds": time.perf_counter() - t}))
"""


def measure(card: str, size: int, args: argparse.Namespace) -> tuple[dict, int]:
    """(what the child printed, the child's peak RSS in bytes), in a fresh child so that peaks do not mix."""
    # a wrapper process per run: RUSAGE_CHILDREN then holds this one child's peak only
    wrapper = [sys.executable, "-c", "import json, resource, subprocess, sys; "
               "p = subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2]], capture_output=True, text=True); "
               "sys.stderr.write(p.stderr); print(p.stdout.strip()); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)",
               CHILD, json.dumps([card, size, args.backend, args.tile, args.batch, args.stop_after])]
    proc = subprocess.run(wrapper, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-2]), int(lines[-1]) * 1024  # ru_maxrss is in KiB


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cards", nargs="+", default=None, help="default: one card per family (as bench_costs.py)")
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--stop-after", type=int, default=0, help="stop after N tiles and estimate (0: the whole image)")
    p.add_argument("--backend", default=None, help="default: zoo's default (ncnn on the CPU)")
    p.add_argument("--tile", type=int, default=None)
    p.add_argument("--batch", type=int, default=None)
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_costs import one_card_per_family

    mb, worst = 1000**2, 0
    print(f"{args.size}x{args.size} RGB input; peak RSS of a fresh process per run; limit {LIMIT / mb:.0f} MB")
    print("| card | backend | tile, batch | output | peak RSS (MB) | above 16x16 baseline (MB) | upscale s |")
    print("|---|---|---|---|---:|---:|---:|")
    for card in one_card_per_family(args.cards):
        t0 = time.perf_counter()
        try:
            base, base_rss = measure(card, 16, args)
            info, rss = measure(card, args.size, args)
        except RuntimeError as err:
            print(f"| {card} | skipped: {err} | | | | | |", flush=True)
            continue
        est = " est." if args.stop_after and info["tiles"] >= args.stop_after else ""
        worst = max(worst, rss)
        print(f"| {card} | {info['backend']} | {info['tile']}, {info['batch']} | {info['shape'][1]}x{info['shape'][0]} | "
              f"{rss / mb:.0f}{est} | {(rss - base_rss) / mb:.0f} | {info['seconds']:.0f}"
              f"{' (%d tiles)' % info['tiles'] if est else ''} |", flush=True)
    verdict = "PASS" if worst < LIMIT else "FAIL"
    print(f"{verdict}: worst peak RSS {worst / mb:.0f} MB {'<' if worst < LIMIT else '>='} {LIMIT / mb:.0f} MB")
    sys.exit(0 if worst < LIMIT else 1)

if __name__ == "__main__":
    main()
