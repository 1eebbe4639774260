"""Fidelity and speed of zoo's SVG renderer (resvg, PyPI `resvg-py`) against rsvg-convert on curated clip art.

    .venv/bin/python benchmarks/svg_renderers.py SVG_ROOT [--count 30]

SVG_ROOT: `usr/share/openclipart/svg` of an unpacked openclipart-svg package. The sample is `count` files of
the curated list (`_chosen_svgs`), picked by a hash of their names; each is rendered at its corpus side by
both renderers, flattened over white, and compared by PSNR (RGB, 8 bit) where the sizes agree.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import math
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image

from zoo_core.data.builtin import RENDER_SIDES, _chosen_svgs, _pick
from zoo_core.data.images import to_rgb
from zoo_core.data.svg import render_svg


def rsvg(svg: Path, side: int) -> Image.Image | None:
    done = subprocess.run(["rsvg-convert", "-w", str(side), "-h", str(side), "-a", str(svg)],
                          capture_output=True, timeout=120)
    return Image.open(io.BytesIO(done.stdout)).convert("RGBA") if done.returncode == 0 and done.stdout else None


def psnr(a: Image.Image, b: Image.Image, shrink: int = 1) -> float:
    """PSNR over white; `shrink` > 1 compares box-filtered quarters (edge anti-aliasing averages out)."""
    size = (a.width // shrink, a.height // shrink)
    x, y = (np.asarray(to_rgb(im).resize(size, Image.Resampling.BOX), dtype=np.float64) for im in (a, b))
    mse = float(((x - y) ** 2).mean())
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--count", type=int, default=30)
    args = ap.parse_args()
    if shutil.which("rsvg-convert") is None:
        raise SystemExit("rsvg-convert (Debian librsvg2-bin) is the reference; install it to compare")
    chosen = _chosen_svgs(args.root)
    sample = sorted(chosen, key=lambda p: hashlib.sha256(b"bench:" + p.name.encode()).hexdigest())[:args.count]
    t_ref = t_zoo = 0.0
    scores, quarters, mismatched, failed = [], [], [], []
    for svg in sample:
        side = RENDER_SIDES[_pick(svg.relative_to(args.root).as_posix()) % len(RENDER_SIDES)]
        t0 = time.perf_counter()
        ref = rsvg(svg, side)
        t1 = time.perf_counter()
        try:
            got = render_svg(svg.read_bytes(), side)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports every failure
            got, why = None, str(exc)
        t2 = time.perf_counter()
        t_ref, t_zoo = t_ref + t1 - t0, t_zoo + t2 - t1
        name = svg.relative_to(args.root).as_posix()
        if got is None or ref is None:
            failed.append(f"{name}: rsvg {'ok' if ref else 'failed'}, resvg {'ok' if got else 'failed: ' + why}")
        elif got.size != ref.size:
            mismatched.append(f"{name}: rsvg {ref.size}, resvg {got.size}")
        else:
            scores.append((psnr(got, ref), name))
            quarters.append(psnr(got, ref, 4))
    scores.sort()
    vals = [s for s, _ in scores]
    print(f"{len(sample)} SVGs; compared {len(scores)}; size mismatch {len(mismatched)}; failed {len(failed)}")
    if vals:
        print(f"PSNR resvg vs rsvg-convert (RGB over white): median {np.median(vals):.2f} dB, mean "
              f"{np.mean(vals):.2f}, min {vals[0]:.2f}; >= 40 dB: {sum(v >= 40 for v in vals)}, "
              f">= 30 dB: {sum(v >= 30 for v in vals)}")
        print(f"at 1/4 size (box filter): median {np.median(quarters):.2f} dB, min {min(quarters):.2f}")
        print("lowest:", "; ".join(f"{n} {s:.1f}" for s, n in scores[:5]))
    print(f"time: rsvg-convert {t_ref:.2f} s, resvg {t_zoo:.2f} s ({t_ref / max(t_zoo, 1e-9):.2f}x)")
    for line in mismatched + failed:
        print("  " + line)


if __name__ == "__main__":
    main()
