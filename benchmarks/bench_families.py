"""Real-ESRGAN and CUNet cards on the CPU: zoo's default path against the PyPI `ncnn` engine running the
ORIGINAL .param/.bin from the card's PyPI package on the same image, same process, same thread count.

ncnn gets the whole image edge-padded by the architecture's context (the input whose output zoo's tiles
equal) with waifu2x-ncnn-vulkan's CPU options (fp16 storage); zoo runs with its defaults. Pairs are
interleaved and the ratio is taken per pair; medians are printed, with seconds per input megapixel.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_families.py [--cards A B] [--size 256] [--reps 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import zoo

CARDS = ["realesrgan-animevideov3-4x", "realesrgan-animevideov3-2x", "cunet-scale2x", "cunet-denoise1"]
BLOBS = {"srvgg-compact": ("data", "output"), "rrdbnet": ("data", "output"),
         "cunet": ("Input1", "Eltwise4"), "cunet-1x": ("Input1", "Eltwise4")}
IMAGE = Path(__file__).resolve().parents[1].parent / "shared/images/waifu2x/miku_CC_BY-NC.jpg"


def ncnn_net(card: zoo.Card, threads: int):
    """The card's original files in ncnn with waifu2x-ncnn-vulkan's CPU options."""
    import ncnn

    dist = md.distribution(card.upstream["package"])
    param, binf = (str(dist.locate_file(f["path"])) for f in card.upstream["files"])
    net = ncnn.Net()
    net.opt.num_threads, net.opt.use_vulkan_compute = threads, False
    net.opt.use_fp16_packed = net.opt.use_fp16_storage = net.opt.use_int8_storage = True
    net.opt.use_fp16_arithmetic = False
    assert net.load_param(param) == 0 and net.load_model(binf) == 0
    return net


def ncnn_upscale(net, card: zoo.Card, geo: zoo.Geometry, img: np.ndarray) -> np.ndarray:
    """The whole image padded by the context, x/255 in, cropped and rounded out."""
    import ncnn

    c, s = geo.context, geo.scale
    x = np.pad(img.astype(np.float32).transpose(2, 0, 1) / 255, ((0, 0), (c, c), (c, c)), mode="edge")
    ex = net.create_extractor()
    blob_in, blob_out = BLOBS[card.architecture]
    ex.input(blob_in, ncnn.Mat(np.ascontiguousarray(x)))
    _, out = ex.extract(blob_out)
    cut = (c - geo.offset) * s
    y = np.array(out)[:, cut:cut + img.shape[0] * s, cut:cut + img.shape[1] * s]
    return np.floor(np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def main() -> None:
    """Time each card, interleaved pairs, and print a Markdown table row per card."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", nargs="+", default=CARDS)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    from PIL import Image

    src = Image.open(IMAGE).convert("RGB") if IMAGE.is_file() else __import__("zoo_core.infer.demo").infer.demo.demo_image(512)
    img = np.asarray(src)[:args.size, :args.size].copy()
    mp = img.shape[0] * img.shape[1] / 1e6
    print(f"{args.size}x{args.size}, {args.threads} thread(s), {args.reps} interleaved pairs, medians")
    print("| card | zoo backend | zoo s/MP (input) | ncnn s/MP | zoo / ncnn | max 8-bit diff |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.cards:
        up = zoo.load(name, threads=args.threads)
        net = ncnn_net(up.card, args.threads)
        ours, ref = up.upscale(img), ncnn_upscale(net, up.card, up.geometry, img)  # warm-up
        zs, ns = [], []
        for rep in range(args.reps):
            for side in ((0, 1) if rep % 2 == 0 else (1, 0)):
                t = time.perf_counter()
                ours = up.upscale(img) if side == 0 else ours
                ref = ncnn_upscale(net, up.card, up.geometry, img) if side == 1 else ref
                (zs if side == 0 else ns).append(time.perf_counter() - t)
        ratio = statistics.median(z / n for z, n in zip(zs, ns))
        diff = int(np.abs(ours.astype(int) - ref.astype(int)).max())
        print(f"| {name} | {up.backend} | {statistics.median(zs) / mp:.2f} | {statistics.median(ns) / mp:.2f} | "
              f"{ratio:.2f} | {diff} |", flush=True)


if __name__ == "__main__":
    main()
