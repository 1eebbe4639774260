"""The fast CPU backend: the registered PyTorch module exported to ncnn (PyPI `ncnn`), tiles run concurrently.

Exact path (fp32): ncnn's Winograd/sgemm fp32 kernels, within ~1e-5 of torch fp32 (one 8-bit level at most).
Networks with image-wide SE blocks (ncnn_se.py) get each gate as an input: the runner's `prepare_image` gathers
the image's means through the module's own hook (zoo_core/infer/image_se.py) with ncnn computing the features;
a tile run without it (one-tile images, direct calls) takes its own means, as the torch module does.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from functools import partial
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ZooError
from ..interfaces import Backend, Runner
from .ncnn_export import NcnnModel, UnsupportedModule, export_ncnn, trace_layers

if TYPE_CHECKING:
    from ..cards import Card

# ncnn options per precision. fp32 keeps every kernel in fp32 (fp16/bf16 storage off: exact path).
OPTIONS: dict[str, dict[str, bool]] = {
    "fp32": {"use_fp16_packed": False, "use_fp16_storage": False, "use_fp16_arithmetic": False,
             "use_bf16_storage": False, "use_int8_inference": False},
}
PREFERRED_TILE = 256  # benchmarks/sweep_ncnn.py: 128 ≈ 256 within noise; 256 has fewer per-tile overheads, ~100 MB/worker


def cpu_count() -> int:
    """CPUs this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def load_net(model: NcnnModel, *, threads: int, options: dict[str, bool]) -> Any:
    """An ncnn.Net loaded from `model` (via a private temp dir: the Python API reads files reliably)."""
    import ncnn

    net = ncnn.Net()
    net.opt.num_threads = threads
    for key, value in options.items():
        setattr(net.opt, key, value)
    with tempfile.TemporaryDirectory(prefix="zoo-ncnn-") as tmp:
        param, weights = Path(tmp) / "model.param", Path(tmp) / "model.bin"
        param.write_text(model.param, encoding="utf-8")
        weights.write_bytes(model.bin)
        if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
            raise ZooError("ncnn refused the exported network; use --backend torch and report this model.")
    return net


class NcnnRunner(Runner):
    """Runs NCHW float batches; a batch's tiles run concurrently, one ncnn thread each."""

    def __init__(self, *, model: NcnnModel, threads: int, workers: int, options: dict[str, bool],
                 module: nn.Module | None = None):
        self.model, self.options = model, options
        named = dict(module.named_modules()) if module is not None else {}
        self.se_blocks = [named[b.module] for b in model.se]  # their excite() turns a mean into a gate
        if model.se and callable(getattr(module, "prepare_image", None)):  # image-wide SE: see the module doc
            self.prepare_image = partial(module.prepare_image, features=self._features)  # type: ignore[union-attr]
        self.threads, self.workers = max(1, threads), max(1, min(workers, threads))
        self.preferred_tile = PREFERRED_TILE
        self.preferred_batch = self.workers  # a batch of `workers` tiles keeps every core busy
        self.net = load_net(model, threads=self.threads, options=options)
        self._pool: ThreadPoolExecutor | None = None
        self._worker_net: Any = None
        self._lock = threading.Lock()

    def _run(self, net: Any, x: np.ndarray, gates: Sequence[np.ndarray | None] = (),
             stop: nn.Module | None = None) -> np.ndarray:
        """The output of one CHW tile; SE gates fed (None: this tile's own mean); or SE block `stop`'s input."""
        import ncnn

        ex = net.create_extractor()
        ex.input(self.model.input_name, ncnn.Mat(x))
        fed = []  # ncnn.Mat(array) borrows the array's memory: keep every gate alive until the extractor is done
        for blob, block, gate in zip(self.model.se, self.se_blocks, gates or [None] * len(self.se_blocks)):
            if block is stop:  # ncnn computes only what this blob needs
                return self._extract(ex, blob.features, x)
            if gate is None:  # this tile's own mean; ncnn keeps the blobs computed so far for what follows
                gate = self._own_gate(block, self._extract(ex, blob.mean, x))
            fed.append(gate)
            ex.input(blob.gate, ncnn.Mat(gate))
        return self._extract(ex, self.model.output_name, x)

    @staticmethod
    def _extract(ex: Any, blob: str, x: np.ndarray) -> np.ndarray:
        ret, out = ex.extract(blob)
        if ret != 0:
            raise ZooError(f"ncnn failed on a {x.shape[1]}x{x.shape[2]} tile (code {ret}); try --backend torch.")
        return np.array(out)

    @staticmethod
    def _own_gate(block: nn.Module, mean: np.ndarray) -> np.ndarray:
        """The gate for a tile's own mean (ncnn's global average: within ~2e-6 of torch's float64 sum)."""
        mean = torch.from_numpy(mean.reshape(-1))
        with torch.inference_mode():
            return _vector(block.excite(mean[None, :, None, None]))

    def _features(self, index: int, tile: torch.Tensor, block: nn.Module) -> torch.Tensor:
        """image_se's gathering hook: `block`'s input on one tile, the earlier blocks' gates as set."""
        del index  # every pass recomputes the tile up to the block
        x = tile.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self._run(self.net, x, self._gates(), stop=block))

    def _gates(self) -> list[np.ndarray | None]:
        """The SE gates fixed for this thread's current image (None where not fixed)."""
        return [None if b.gate is None else _vector(b.gate) for b in self.se_blocks]

    def _concurrent(self) -> tuple[ThreadPoolExecutor, Any]:
        with self._lock:  # created on first use: a runner that only sees single tiles never pays for it
            if self._pool is None:
                per = max(1, self.threads // self.workers)
                self._worker_net = load_net(self.model, threads=per, options=self.options)
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="zoo-ncnn")
        return self._pool, self._worker_net

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        gates = self._gates()  # read here: SE gates are per thread, and the pool's threads are others
        if len(x) == 1 or self.workers == 1:
            outs = [self._run(self.net, a, gates) for a in x]
        else:
            pool, net = self._concurrent()
            outs = list(pool.map(lambda a: self._run(net, a, gates), x))  # ncnn releases the GIL while it runs
        return torch.from_numpy(np.stack(outs))


def _vector(gate: torch.Tensor) -> np.ndarray:
    """A (1, C, 1, 1) gate as the C-vector ncnn broadcasts over channels."""
    return np.ascontiguousarray(gate.detach().reshape(-1).to("cpu", torch.float32).numpy())


class NcnnBackend(Backend):
    """ncnn on the CPU for every module the exporter can express (plain conv stacks and simple DAGs)."""

    name = "ncnn"
    description = "ncnn CPU engine (PyPI ncnn) fed by a direct exporter; fp32 within 1e-5 of torch; tiles in parallel"

    def __init__(self) -> None:
        self._refusals: dict[str, str | None] = {}  # architecture + hyperparameters -> why the exporter refuses

    def _export_refusal(self, card: Card, module: nn.Module) -> str | None:
        key = json.dumps([card.architecture, card.hyperparameters], sort_keys=True, default=str)
        if key not in self._refusals:
            try:
                trace_layers(module)  # the card's own module: hyperparameters may change what it contains
                self._refusals[key] = None
            except ZooError as err:  # UnsupportedModule among them: the reason is kept and shown
                self._refusals[key] = f"the ncnn exporter cannot express '{card.architecture}' ({err})"
        return self._refusals[key]

    def supports(self, card: Card, module: nn.Module, *, device: str, precision: str) -> str | None:
        """CPU only, fp32, and only modules the exporter can express."""
        if device != "cpu":
            return "ncnn runs on the CPU only"
        if precision not in OPTIONS:
            return f"ncnn runs {', '.join(OPTIONS)} only"
        try:
            import ncnn  # noqa: F401
        except ImportError:
            return "the 'ncnn' package is not installed (pip install ncnn)"
        return self._export_refusal(card, module)

    def default_for(self, card: Card, *, device: str, precision: str) -> bool:
        """Eligible as the default: fp32 on the CPU stays within one 8-bit level of torch fp32."""
        return precision == "fp32" and device == "cpu"

    def prepare(self, *, module: nn.Module, arch_id: str, device: str, precision: str, threads: int | None) -> NcnnRunner:
        """Export the loaded module and load it into ncnn (zoo.load asked `supports` first)."""
        if device != "cpu" or precision not in OPTIONS:
            raise ZooError(f"Backend 'ncnn' cannot run '{arch_id}' on {device} in {precision}. Use --backend torch.")
        n = threads or cpu_count()
        try:
            model = export_ncnn(module)
        except UnsupportedModule as err:
            raise ZooError(f"Backend 'ncnn' cannot export '{arch_id}' ({err}). Use --backend torch.") from None
        return NcnnRunner(model=model, threads=n, workers=n, options=OPTIONS[precision], module=module)
