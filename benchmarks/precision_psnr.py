"""PSNR of reduced-precision inference (bf16, and fp16 on a GPU) against fp32, on real images.

    .venv/bin/python benchmarks/precision_psnr.py [--models upconv7-scale2x ...] [--device cpu]

Reads images from ../shared/images/waifu2x (reference data, not in git). Prints one row per
model × image × precision: PSNR of the 8-bit output against the fp32 8-bit output, the share of
8-bit values that differ, and the seconds each run took (same process, same thread count).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

import zoo

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images" / "waifu2x"
IMAGES = ["miku_small.png", "miku_noisy.png", "tone.png"]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """8-bit PSNR in dB (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main() -> None:
    """Run each model in fp32 and the reduced precisions; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["upconv7-scale2x", "upconv7-noise1"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    precisions = ["bf16"] + (["fp16"] if args.device.startswith("cuda") else [])
    print(f"{'model':22} {'image':16} {'prec':5} {'PSNR dB':>8} {'differ %':>8} {'s':>6} {'fp32 s':>6}")
    for name in args.models:
        ref_up = zoo.load(name, device=args.device, backend="torch")
        for img_name in IMAGES:
            rgb = np.asarray(Image.open(SHARED / img_name).convert("RGB"))
            t = time.perf_counter()
            ref = ref_up.upscale(rgb)
            t_ref = time.perf_counter() - t
            for prec in precisions:
                up = zoo.load(name, device=args.device, precision=prec, backend="torch")
                t = time.perf_counter()
                out = up.upscale(rgb)
                dt = time.perf_counter() - t
                differ = 100.0 * float(np.mean(out != ref))
                print(f"{name:22} {img_name:16} {prec:5} {psnr(out, ref):8.2f} {differ:8.2f} {dt:6.2f} {t_ref:6.2f}")


if __name__ == "__main__":
    main()
