"""Real-ESRGAN, CUNet and Real-CUGAN cards on the CPU: zoo's default path against the PyPI `ncnn` engine running the
ORIGINAL .param/.bin from the card's PyPI package on the same image (a crop of the 600² art image, tiled where
--size is larger), same process, same thread count.

ncnn gets the whole image edge-padded by the architecture's context (the input whose output zoo's tiles
equal) with waifu2x-ncnn-vulkan's CPU options (fp16 storage; `--ref fp32`: zoo's exact options); zoo runs
with its defaults (`--tile N`: its tile size, to see an image larger than one tile; `--versus TILE BATCH`: that
layout too, timed in the same rounds, one more row: before/after a default change in one run). Pairs are interleaved,
the order flipped every other pair, and the ratio is taken per pair, in wall clock and in the process's CPU
time (which other jobs on a shared box move far less); medians are printed, with seconds per input megapixel.
Real-CUGAN 4x's reference adds the nearest-upscaled input after the file, as realcugan-ncnn-vulkan does.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_families.py [--cards A B] [--size 256] [--reps 3] [--threads 1]
        [--tile N] [--versus TILE BATCH] [--ref fp16|fp32] [--keep-pixels N]
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import zoo

CARDS = ["realesrgan-animevideov3-4x", "realesrgan-animevideov3-2x", "cunet-scale2x", "cunet-noise1", "cunet-denoise1",
         "realcugan-se-2x", "realcugan-se-4x", "realcugan-pro-2x"]
BLOBS = {"srvgg-compact": ("data", "output"), "rrdbnet": ("data", "output"),
         "cunet": ("Input1", "Eltwise4"), "cunet-1x": ("Input1", "Eltwise4"),
         "realcugan": ("in0", "out0"), "realcugan-pro": ("in0", "out0")}


def ncnn_net(card: zoo.Card, threads: int, fp16: bool = True):
    """The card's original files in ncnn with waifu2x-ncnn-vulkan's CPU options (fp16=False: all fp32)."""
    import ncnn

    dist = md.distribution(card.upstream["package"])
    param, binf = (str(dist.locate_file(f["path"])) for f in card.upstream["files"])
    net = ncnn.Net()
    net.opt.num_threads, net.opt.use_vulkan_compute = threads, False
    net.opt.use_fp16_packed = net.opt.use_fp16_storage = net.opt.use_int8_storage = fp16
    net.opt.use_fp16_arithmetic = net.opt.use_bf16_storage = False
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
    # the original RRDBNet files keep their whole trunk (zoo's module trims it: its geometry's offset)
    cut = (c - (0 if card.architecture == "rrdbnet" else geo.offset)) * s
    y = np.array(out)
    if card.architecture == "realcugan" and s == 4:  # realcugan-ncnn-vulkan's 4x: + the nearest-upscaled input
        o = geo.offset
        y = y + x[:, o:-o, o:-o].repeat(4, 1).repeat(4, 2)
    y = y[:, cut:cut + img.shape[0] * s, cut:cut + img.shape[1] * s]
    return np.floor(np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def main() -> None:
    """Time each card, interleaved pairs, and print a Markdown table row per card."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", nargs="+", default=CARDS)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--tile", type=int, default=None, help="zoo's tile size (default: its own)")
    ap.add_argument("--versus", type=int, nargs=2, metavar=("TILE", "BATCH"), default=None,
                    help="also time zoo with this tile and batch in the same rounds (one more row)")
    ap.add_argument("--ref", choices=("fp16", "fp32"), default="fp16", help="ncnn storage for the original file")
    ap.add_argument("--keep-pixels", type=int, default=None,
                    help="ncnn SE gathering: tile pixels whose runs wait between passes (0: recompute every pass)")
    args = ap.parse_args()
    if args.keep_pixels is not None:
        import zoo_core.default_plugins.backend_ncnn as backend_ncnn

        backend_ncnn.KEEP_PIXELS = args.keep_pixels
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_costs import test_image  # the 600² art image, tiled where --size is larger (a crop below)

    img = test_image(args.size)
    mp = img.shape[0] * img.shape[1] / 1e6
    print(f"{args.size}x{args.size}, {args.threads} thread(s), zoo tile {args.tile or 'default'}, ncnn {args.ref} "
          f"storage, {args.reps} interleaved pairs, medians; load average {os.getloadavg()[0]:.1f}"
          + ("" if args.keep_pixels is None else f"; KEEP_PIXELS {args.keep_pixels}"))
    print("| card | zoo backend | zoo tile, batch | zoo s/MP (input) | ncnn s/MP | zoo / ncnn | CPU time zoo / ncnn "
          "| max 8-bit diff |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name in args.cards:
        print(rows(name, img, args, mp), flush=True)


def rows(name: str, img: np.ndarray, args: argparse.Namespace, mp: float) -> str:
    """One card timed in interleaved rounds (zoo, [zoo --versus], ncnn): a Markdown table row per zoo layout."""
    ups = [zoo.load(name, threads=args.threads, tile_size=args.tile)]
    if args.versus:
        ups.append(zoo.load(name, threads=args.threads, tile_size=args.versus[0], batch_size=args.versus[1]))
    up = ups[0]
    net = ncnn_net(up.card, args.threads, fp16=args.ref == "fp16")
    runs = [lambda u=u: u.upscale(img) for u in ups] + [lambda: ncnn_upscale(net, up.card, up.geometry, img)]
    ref = len(ups)
    out = [run() for run in runs]  # warm-up
    wall: list[list[float]] = [[] for _ in runs]
    cpu: list[list[float]] = [[] for _ in runs]
    for rep in range(args.reps):
        for side in (range(len(runs)) if rep % 2 == 0 else reversed(range(len(runs)))):
            t, c = time.perf_counter(), time.process_time()
            out[side] = runs[side]()
            wall[side].append(time.perf_counter() - t)
            cpu[side].append(time.process_time() - c)
    lines = []
    for side, u in enumerate(ups):
        ratio = statistics.median(z / n for z, n in zip(wall[side], wall[ref]))
        cpu_ratio = statistics.median(z / n for z, n in zip(cpu[side], cpu[ref]))
        diff = int(np.abs(out[side].astype(int) - out[ref].astype(int)).max())
        tile, batch = u.layout(*img.shape[:2])
        lines.append(f"| {name} | {u.backend} | {tile}, {batch} | {statistics.median(wall[side]) / mp:.2f} | "
                     f"{statistics.median(wall[ref]) / mp:.2f} | {ratio:.2f} | {cpu_ratio:.2f} | {diff} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
