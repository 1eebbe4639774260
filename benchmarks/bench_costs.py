"""Does time follow multiply-adds? Every registered card family on its default CPU path, against upconv7-scale2x.

One card per architecture (the first listed, or --cards), the same 512×512 real-art image (a crop of
../shared/images/waifu2x/miku_CC_BY-NC.jpg, or a synthetic one without ../shared), same process, same
thread count. Each card is timed in interleaved pairs with upconv7-scale2x (the order flips every pair) and
the ratio is taken per pair, so load from other jobs on a shared box hits both sides alike; medians printed.
Beside the wall-clock ratio, the ratio of this process's CPU time (all its threads): on a box shared with
other jobs the wall clock also measures the scheduler, the CPU time only the work.
A card whose weights cannot be loaded (not fetched, no network) is skipped with the reason.

--precision bf16 runs the cards (not the UpConv_7 base) in bf16 and adds, per card, the time against the
same card's default fp32 path and the PSNR of its 8-bit output against that fp32 output.

    .venv/bin/python benchmarks/bench_costs.py [--size 512] [--reps 3] [--threads N] [--cards A B] [--backend B]
        [--precision bf16]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

IMAGE = Path(__file__).resolve().parents[1].parent / "shared/images/waifu2x/miku_CC_BY-NC.jpg"
BASE = "upconv7-scale2x"


def test_image(size: int) -> np.ndarray:
    """A size² crop of the shared art image (tiled if it is smaller), or zoo's synthetic demo picture."""
    from PIL import Image

    if IMAGE.is_file():
        src = np.asarray(Image.open(IMAGE).convert("RGB"))
    else:
        from zoo_core.infer.demo import demo_image

        src = np.asarray(demo_image(size))
    reps = (-(-size // src.shape[0]), -(-size // src.shape[1]), 1)
    return np.ascontiguousarray(np.tile(src, reps)[:size, :size])


def one_card_per_family(names: list[str] | None) -> list[str]:
    """The cards to time: --cards, or the first card of every registered architecture (scale > 1 first)."""
    import zoo

    if names:
        return names
    seen: dict[str, str] = {}
    for card in sorted(zoo.get_registry().cards.values(), key=lambda c: (c.scale == 1, "noise" in c.name, c.name)):
        if not card.name.startswith("example-"):  # the docs' example plugin, when installed for the tests
            seen.setdefault(card.architecture, card.name)
    return [BASE] + [n for n in seen.values() if n != BASE and not n.startswith("upconv7")]


def psnr(a: np.ndarray, b: np.ndarray) -> str:
    """8-bit PSNR of a against b."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return "inf" if mse == 0 else f"{10 * np.log10(255.0**2 / mse):.1f} dB"


def timed(fn) -> tuple[float, float]:
    """Wall and process-CPU seconds of fn()."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def main(argv: list[str] | None = None) -> None:
    """Print one Markdown row per card: backend, s per input MP, wall and CPU ratios to UpConv_7, MACs and ratio."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="threads for every card (default: all CPUs)")
    p.add_argument("--cards", nargs="+", default=None)
    p.add_argument("--backend", default=None, help="force a backend for the non-base cards (default: zoo's choice)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="for the non-base cards")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing weight file is a skip, not a download

    import torch

    import zoo
    from zoo_core.cost import cost
    from zoo_core.default_plugins.backend_ncnn import cpu_count

    threads = args.threads or cpu_count()
    torch.set_num_threads(threads)
    img = test_image(args.size)
    mp = img.shape[0] * img.shape[1] / 1e6
    base = zoo.load(BASE, threads=threads)
    base_macs = cost(zoo.get_registry().architecture(base.card.architecture), base.card.hyperparameters)
    base.upscale(img)
    print(f"{args.size}x{args.size} ({'miku_CC_BY-NC.jpg' if IMAGE.is_file() else 'synthetic'}), {threads} thread(s), "
          f"{args.reps} interleaved pairs with {BASE}, medians; load average {os.getloadavg()[0]:.1f}")
    reduced = args.precision != "fp32"
    extra = " time vs its fp32 | PSNR vs its fp32 |" if reduced else ""
    print("| card | architecture | backend | s / MP (input) | time vs UpConv_7 | CPU time vs UpConv_7 | MACs / input px "
          "| MACs vs UpConv_7 |" + extra)
    print("|---|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if reduced else ""))
    for name in one_card_per_family(args.cards):
        try:
            up = zoo.load(name, threads=threads, backend=args.backend, precision=args.precision)
            fp32 = zoo.load(name, threads=threads) if reduced else None
            up.upscale(img[:64, :64])  # warm-up (ncnn export, first allocation)
        except zoo.ZooError as err:
            print(f"| {name} | skipped: {str(err).splitlines()[0]} | | | | | | |", flush=True)
            continue
        macs = cost(zoo.get_registry().architecture(up.card.architecture), up.card.hyperparameters)
        runs = {"card": up, "base": base, **({"fp32": fp32} if fp32 is not None else {})}
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        for rep in range(args.reps):
            for k in (list(runs) if rep % 2 == 0 else list(reversed(runs))):
                times[k].append(timed(lambda: runs[k].upscale(img)))
        ratio, cpu = (statistics.median(t[i] / b[i] for t, b in zip(times["card"], times["base"])) for i in (0, 1))
        m = macs["macs_per_input_pixel"]
        row = (f"| {name} | {up.card.architecture} | {up.backend} {up.precision} | "
               f"{statistics.median(t for t, _ in times['card']) / mp:.2f} | {ratio:.2f} | {cpu:.2f} | {m:,.0f} | "
               f"{m / base_macs['macs_per_input_pixel']:.2f} |")
        if fp32 is not None:
            own = statistics.median(t[0] / f[0] for t, f in zip(times["card"], times["fp32"]))
            row += f" {own:.2f} | {psnr(up.upscale(img), fp32.upscale(img))} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
