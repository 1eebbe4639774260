"""Does a reduced precision make ncnn faster on this CPU? bf16 storage and int8 UpConv_7 vs ncnn fp32.

int8: the exported network with every 3×3 convolution but the first (3 input channels) quantized the
way ncnn2int8 does (per-output-channel weight scales 127/max|w|, one input scale per layer from the
max activation on a calibration image); the deconvolution stays fp32 (ncnn has no int8 deconv).
Prints speed ratios to the fp32 export (interleaved, medians) and 8-bit PSNR against torch fp32.

    .venv/bin/python benchmarks/probe_reduced_precision.py [--reps 5] [--threads N]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
import statistics
import struct

import numpy as np
import torch
from torch import nn

UPCONV7 = Path(__file__).resolve().parents[1] / "plugins" / "zoo-upconv7" / "benchmarks"  # the reference harness
sys.path.insert(0, str(UPCONV7))
from bench_upconv7 import _timed, test_image  # noqa: E402

import zoo
from zoo_core.default_plugins import ncnn_export as E
from zoo_core.default_plugins.backend_ncnn import OPTIONS, NcnnRunner, cpu_count

TAG_INT8 = 0x000D4B38


def conv_inputs(module: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The input of every Conv2d, in order, for the calibration image."""
    found: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda m, i, o: found.append(i[0].detach()))
             for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        module(x)
    for h in hooks:
        h.remove()
    return found


def export_int8(module: nn.Module, calib: torch.Tensor) -> E.NcnnModel:
    """ncnn int8 model: int8 weights (tag 0x000D4B38), fp32 bias, weight scales, input scale."""
    layers = E.insert_splits(E.fuse_activations(E.trace_layers(module.eval())))
    acts = iter(conv_inputs(module, calib))
    chunks: list[bytes] = []
    for layer in layers:
        act = next(acts) if layer.type == "Convolution" else None
        if act is None or act.shape[1] < 8:  # keep the 3-channel first layer and non-convs in fp32
            for arr, tagged in layer.weights:
                chunks += ([struct.pack("<I", 0)] if tagged else []) + [arr.astype("<f4").ravel().tobytes()]
            continue
        w = layer.weights[0][0].reshape(layer.weights[0][0].shape[0], -1)
        wscale = 127 / np.maximum(np.abs(w).max(1), 1e-12)
        q = np.clip(np.round(w * wscale[:, None]), -127, 127).astype(np.int8).tobytes()
        layer.params[8] = 1  # int8_scale_term
        chunks += [struct.pack("<I", TAG_INT8), q, b"\0" * (-len(q) % 4)]
        chunks += [arr.astype("<f4").ravel().tobytes() for arr, _ in layer.weights[1:]]
        chunks += [wscale.astype("<f4").tobytes(), np.float32(127 / float(act.abs().max())).tobytes()]
    return E.NcnnModel(param=E.write_param(layers), bin=b"".join(chunks))


def psnr8(a: torch.Tensor, b: torch.Tensor) -> float:
    q = lambda t: torch.floor(t.clamp(0, 1) * 255 + 0.5)
    mse = float(((q(a) - q(b)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    threads = args.threads or cpu_count()
    module = zoo.load("upconv7-scale2x", backend="torch").runner.module
    img = torch.from_numpy(test_image(256)).permute(2, 0, 1)[None].float().div(255)
    calib = torch.from_numpy(test_image(192)).permute(2, 0, 1)[None].float().div(255)
    with torch.no_grad():
        ref = module(img)
    fp32 = E.export_ncnn(module)
    runners = {
        "fp32": NcnnRunner(model=fp32, threads=threads, workers=1, options=OPTIONS["fp32"]),
        "bf16 storage": NcnnRunner(model=fp32, threads=threads, workers=1,
                                   options={**OPTIONS["fp32"], "use_bf16_storage": True}),
        "int8": NcnnRunner(model=export_int8(module, calib), threads=threads, workers=1,
                           options={**OPTIONS["fp32"], "use_int8_inference": True}),
    }
    for name, r in runners.items():
        print(f"{name}: 8-bit PSNR vs torch fp32 {psnr8(r(img), ref):.1f} dB")
    ratios: dict[str, list[float]] = {n: [] for n in runners if n != "fp32"}
    for _ in range(args.reps):
        for n in ratios:
            base = _timed(lambda: runners["fp32"](img))
            ratios[n].append(_timed(lambda: runners[n](img)) / base)
    for n, r in ratios.items():
        print(f"{n}: time ratio to ncnn fp32 median {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f})")


if __name__ == "__main__":
    main()
