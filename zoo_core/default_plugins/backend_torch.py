"""The reference backend: plain PyTorch, any architecture, CPU or CUDA, fp32/bf16/fp16."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..capabilities import image_statistics
from ..interfaces import Backend, Runner

if TYPE_CHECKING:
    from ..cards import Card

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class TorchRunner(Runner):
    """Runs batches through the module under inference_mode on the chosen device and dtype."""

    def __init__(self, module: nn.Module, device: str, precision: str):
        self.device = torch.device(device)
        self.dtype = DTYPES[precision]
        # bf16 on a CPU: oneDNN's AMX/AVX512-BF16 convolutions want NHWC (benchmarks/README.md, issue 17:
        # 0.63-0.87x the time of NCHW); fp32 keeps NCHW, the reference layout.
        cpu_bf16 = self.dtype == torch.bfloat16 and self.device.type == "cpu"
        self.layout = torch.channels_last if cpu_bf16 else torch.contiguous_format
        self.module = module.eval().to(self.device, self.dtype, memory_format=self.layout)
        prepare = image_statistics(self.module)
        if prepare is not None:  # image-wide statistics: see zoo_core/infer/tiler.py
            self.prepare_image = prepare

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out = self.module(batch.to(self.device, self.dtype, memory_format=self.layout))
        return out.float().cpu()


class TorchBackend(Backend):
    """PyTorch eager: the exact reference, for every registered architecture."""

    name = "torch"
    description = "PyTorch eager (reference; any architecture; cpu/cuda; fp32/bf16/fp16)"

    def supports(self, card: Card, module: nn.Module, *, device: str, precision: str) -> str | None:
        """Every architecture; CUDA only when available; fp16 only on CUDA (slow/unsupported on CPU)."""
        if precision not in DTYPES:
            return f"it knows no precision '{precision}' (only {', '.join(DTYPES)})"
        if device.startswith("cuda") and not torch.cuda.is_available():
            return "no CUDA GPU is available"
        if precision == "fp16" and device == "cpu":
            return "fp16 runs on CUDA only"
        return None

    def prepare(self, *, module: nn.Module, arch_id: str, device: str, precision: str, threads: int | None) -> TorchRunner:
        """Move the module to the device/dtype; set the thread count if asked."""
        if threads:
            torch.set_num_threads(threads)
        return TorchRunner(module, device, precision)
