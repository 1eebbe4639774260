"""The reference backend: plain PyTorch, any architecture, CPU or CUDA, fp32/bf16/fp16."""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import torch
from torch import nn

from ..capabilities import image_statistics
from ..interfaces import Backend, Runner

if TYPE_CHECKING:
    from ..cards import Card

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class TorchRunner(Runner):
    """Runs batches through the module under inference_mode on the chosen device and dtype."""

    def __init__(self, module: nn.Module, device: str, precision: str, threads: int | None = None):
        self.device, self.threads = torch.device(device), threads  # threads: this runner's, set only around its calls
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
        with torch_threads(self.threads), torch.inference_mode():
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
        """Move the module to the device/dtype; `threads` is the runner's own (no process-wide change at load)."""
        return TorchRunner(module, device, precision, threads)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op thread count is `threads` inside and what it was after (None: left as it is).

    torch's count is process-wide: while inside, other torch work in the process sees it too (runners called at
    once from several Python threads with different counts share one); loading a model never changes it.
    """
    before = torch.get_num_threads()
    if not threads or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
