"""Print each Real-CUGAN card's agreement with ncnn running the original file (what the parity test asserts).

zoo in 12-px tiles (image-wide SE) vs ncnn on the whole image edge-padded by the context (4x: + the nearest-
upscaled input, as realcugan-ncnn-vulkan adds), on a 24x24 crop of a real anime picture, one thread:

    OMP_NUM_THREADS=1 .venv/bin/python plugins/zoo-realcugan/scripts/parity.py [NAMES...]
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch

import zoo

spec = importlib.util.spec_from_file_location("parity_test", Path(__file__).parents[1] / "tests" / "test_realcugan_parity.py")
T = importlib.util.module_from_spec(spec)
spec.loader.exec_module(T)


def main() -> int:
    """One line per card: max |zoo − ncnn| in [0, 1] floats, 8-bit values equal and within one level."""
    torch.set_num_threads(1)
    rgb = T.crop(24, 24)
    x = rgb.transpose(2, 0, 1).astype(np.float32) / 255
    for name in sys.argv[1:] or T.CARDS:
        up = zoo.load(name, backend="torch", tile_size=12)
        ctx, s, cut = up.geometry.context, up.scale, (up.geometry.context - up.geometry.offset) * up.scale
        ref = T.ncnn_run(name, np.pad(x, ((0, 0), (ctx, ctx), (ctx, ctx)), mode="edge"), s)[:, cut:-cut, cut:-cut]
        ours = up.upscale_tensor(torch.from_numpy(x)).numpy()
        diff = np.abs(T.to_8bit(ours) - T.to_8bit(ref))
        print(f"{name:30s} {ours.shape[1]}x{ours.shape[2]}  max|d|={np.abs(ours - ref).max():.2e}  "
              f"8-bit equal {100 * (diff == 0).mean():.3f}%  within 1 {100 * (diff <= 1).mean():.3f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
