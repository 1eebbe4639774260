"""Working set of one ncnn tile over its widest fp32 feature map, per card: the figure a plugin declares for the
ncnn engine as `zoo.plugin.NcnnHints(architecture=..., working_set=...)` through its register_engine_hints hook
(zoo_core/cost.py charges concurrent tiles × working_set × widest map against TILE_BUDGET).

Each (card, tile side T) runs in a fresh child: the model is loaded with tile T, batch 1 and `--threads`
ncnn threads (1: what each of the ncnn runner's concurrent workers gets), warmed on a 16×16 image, then the
kernel's peak-RSS mark is reset (/proc/self/clear_refs "5", Linux) and one T×T image (one tile) runs; the
peak above the RSS before it, over 4 × widest_elements(widest_layers, T), is the factor. Input and output
arrays are counted in it (a few MB; they only raise the factor). Declare the max over the sides plus a margin.

    .venv/bin/python benchmarks/probe_working_set.py [--cards A B] [--sides 64 128 256] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys
import numpy as np
import zoo
from zoo_core.api import backend_named
from zoo_core.cost import cached_cost, widest_elements
card, side, threads = json.loads(sys.argv[1])

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

up = zoo.load(card, backend="ncnn", tile_size=side, batch_size=1, threads=threads)
rng = np.random.default_rng(0)
up.upscale(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))  # lazy buffers and pools of a small run
img = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
base = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # peak RSS mark := current RSS
up.upscale(img)
arch = zoo.get_registry().architecture(up.card.architecture)
widest = 4 * widest_elements(cached_cost(arch, up.card.hyperparameters)["widest_layers"], side)
declared = backend_named("ncnn").working_set(up.card)
print(json.dumps({"arch": arch.id, "declared": declared, "above": status("VmHWM") - base, "widest": widest}))
"""


def probe(card: str, side: int, threads: int) -> dict:
    """What the child printed for one tile of side `side`."""
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([card, side, threads])], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cards", nargs="+", default=None, help="default: one card per family (as bench_costs.py)")
    p.add_argument("--sides", nargs="+", type=int, default=[64, 128, 256])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_costs import one_card_per_family

    mb = 1000**2
    print(f"one ncnn tile per fresh process, {args.threads} thread(s); peak RSS above the RSS before the tile")
    print("| card | architecture | declared | " + " | ".join(f"T={s}: MB above / widest MB = factor" for s in args.sides)
          + " | max factor |")
    print("|---|---|---:|" + "---:|" * (len(args.sides) + 1))
    for card in one_card_per_family(args.cards):
        cells, factors, arch, declared = [], [], "?", None
        for side in args.sides:
            try:
                got = probe(card, side, args.threads)
            except RuntimeError as err:
                cells.append(f"failed: {str(err):.60}")
                continue
            arch, declared = got["arch"], got["declared"]
            factors.append(got["above"] / got["widest"])
            cells.append(f"{got['above'] / mb:.0f} / {got['widest'] / mb:.0f} = {factors[-1]:.1f}")
        print(f"| {card} | {arch} | {declared or 'default'} | " + " | ".join(cells)
              + f" | {max(factors, default=0):.1f} |", flush=True)


if __name__ == "__main__":
    main()
