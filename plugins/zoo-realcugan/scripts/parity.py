"""Print each Real-CUGAN card's agreement with ncnn running the original file (what the parity test asserts).

zoo in 12-px tiles (image-wide SE) vs ncnn on the whole image edge-padded by the context (4x: + the nearest-
upscaled input, as realcugan-ncnn-vulkan adds), on a 24x24 crop of a real anime picture, one thread:

    OMP_NUM_THREADS=1 .venv/bin/python plugins/zoo-realcugan/scripts/parity.py [--backend ncnn] [NAMES...]

--backend ncnn: zoo's default CPU path (its own ncnn export, SE means gathered with ncnn) instead of torch.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

from zoo.plugin import parity

spec = importlib.util.spec_from_file_location("parity_test", Path(__file__).parents[1] / "tests" / "test_realcugan_parity.py")
T = importlib.util.module_from_spec(spec)
spec.loader.exec_module(T)


def main() -> int:
    """One line per card: max |zoo − ncnn| in [0, 1] floats, 8-bit values equal and within one level."""
    torch.set_num_threads(1)
    args = sys.argv[1:]
    backend = "torch"
    if args[:1] == ["--backend"] and len(args) > 1:
        backend, args = args[1], args[2:]
    for name in args or T.CARDS:
        ours, ref = T.tiled_vs_ncnn(name, backend=backend)
        print(f"{name:30s} {ours.shape[1]}x{ours.shape[2]}  {parity(ours, ref)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
