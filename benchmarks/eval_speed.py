"""`zoo eval` time per 0.3-MP picture, with zoo's SSIM and with the former float64 grouped-conv2d SSIM.

    .venv/bin/python benchmarks/eval_speed.py [--model drrn-lite] [--repeat 3]

Times `evaluate_upscale` (three methods, four metrics each) on one 640×480 synthetic picture after a warm-up,
the model already loaded; the best of `repeat` runs. Also checks that both SSIMs agree to 1e-9.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

import zoo_core.train.evaluate as evaluate
from zoo_core.train.synthetic import synthetic_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_eval import _ssim_conv2d_reference  # noqa: E402  (the former implementation, kept by the test)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="drrn-lite")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, torch.inference_mode():
        synthetic_image(5, 640).crop((0, 0, 640, 480)).save(Path(d) / "a.png")
        up = evaluate._ModelUpscale(evaluate._load(args.model, None, None))
        run = lambda: evaluate.evaluate_upscale(up, Path(d), name=args.model)  # noqa: E731
        new_report = run()
        fast = best(run, args.repeat)
        evaluate.ssim = _ssim_conv2d_reference
        old_report = run()
        slow = best(run, max(1, args.repeat - 2))
    diff = max(abs(new_report["mean"][m][k] - old_report["mean"][m][k]) for m in new_report["mean"]
               for k in ("ssim_y", "ssim_rgb"))
    print(f"{args.model}, 640x480, {torch.get_num_threads()} threads: per picture {fast:.2f} s (zoo's SSIM), "
          f"{slow:.2f} s (float64 conv2d SSIM): {slow / fast:.1f}x; largest SSIM difference {diff:.1e}")


if __name__ == "__main__":
    main()
