"""Peak memory of upscaling a 4096×4096 RGB image on the CPU (goal: peak RSS under 3 GB).

Each measurement runs in a fresh subprocess; the parent reads the child's peak RSS with
resource.getrusage(RUSAGE_CHILDREN) after it exits. A 16×16 run gives the baseline (Python, torch,
ncnn and the model loaded), so the image's own cost is the difference.

    .venv/bin/python benchmarks/bench_memory.py [--size 4096] [--backend ncnn|torch] [--tile N] [--batch N]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

LIMIT = 3 * 1000**3  # "3 GB"

CHILD = """
import json, sys, time
import numpy as np
import zoo
size, backend, tile, batch = json.loads(sys.argv[1])
up = zoo.load("upconv7-scale2x", backend=backend, tile_size=tile, batch_size=batch)
img = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)  # no float temporaries
t = time.perf_counter()
out = up.upscale(img)
print(json.dumps({"backend": up.backend, "tile": up.tile_size, "batch": up.batch_size,
                  "shape": list(out.shape), "seconds": time.perf_counter() - t}))
"""


def measure(size: int, backend: str | None, tile: int | None, batch: int | None) -> tuple[dict, int]:
    """(what the child printed, the child's peak RSS in bytes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([size, backend, tile, batch])],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the {size}x{size} run failed:\n{proc.stderr[-2000:]}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children so far, in KiB
    if peak_kib <= before:
        sys.exit("could not attribute the peak RSS: run the sizes from the smallest up")
    return json.loads(proc.stdout.strip().splitlines()[-1]), peak_kib * 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--backend", default=None, help="default: zoo's default (ncnn on the CPU)")
    p.add_argument("--tile", type=int, default=None)
    p.add_argument("--batch", type=int, default=None)
    args = p.parse_args()
    t0 = time.perf_counter()
    base, base_rss = measure(16, args.backend, args.tile, args.batch)
    info, rss = measure(args.size, args.backend, args.tile, args.batch)
    mb = 1000**2
    print(f"baseline (16x16, {base['backend']}): peak RSS {base_rss / mb:.0f} MB")
    print(f"{args.size}x{args.size} → {info['shape'][1]}x{info['shape'][0]} with {info['backend']} "
          f"(tile {info['tile']}, batch {info['batch']}): peak RSS {rss / mb:.0f} MB "
          f"({(rss - base_rss) / mb:.0f} MB above baseline), upscale {info['seconds']:.1f} s, "
          f"total {time.perf_counter() - t0:.0f} s")
    verdict = "PASS" if rss < LIMIT else "FAIL"
    print(f"{verdict}: peak RSS {rss / mb:.0f} MB {'<' if rss < LIMIT else '>='} {LIMIT / mb:.0f} MB")
    sys.exit(0 if rss < LIMIT else 1)


if __name__ == "__main__":
    main()
