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
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn

from ..capabilities import image_statistics
from . import ncnn_hints
from ..errors import ZooError
from ..interfaces import Backend, Runner
from .ncnn_export import NcnnModel, UnsupportedModule, export_ncnn, trace_layers
from .ncnn_se import gathering_refusal
from .ncnn_se_run import Gate, KeptRuns, Release, TileRun, vector

if TYPE_CHECKING:
    from ..cards import Card

# ncnn options per precision. fp32 keeps every kernel in fp32 (fp16/bf16 storage off: exact path).
OPTIONS: dict[str, dict[str, bool]] = {
    "fp32": {"use_fp16_packed": False, "use_fp16_storage": False, "use_fp16_arithmetic": False,
             "use_bf16_storage": False, "use_int8_inference": False},
}
KEEP_PIXELS = 4 * 320 * 320  # tiles' input pixels whose runs wait between SE gathering passes (memory: README)
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
        self._module, self._kept = module, KeptRuns()
        if model.se and image_statistics(module) is not None:  # image-wide SE: the tiler calls it
            self.prepare_image = self._prepare_image
        self.threads, self.workers = max(1, threads), max(1, min(workers, threads))
        self.preferred_tile = PREFERRED_TILE
        self.preferred_batch = self.workers  # a batch of `workers` tiles keeps every core busy
        self.keep_pixels = KEEP_PIXELS if model.se else 0  # only SE gathering keeps runs
        self.net = load_net(model, threads=self.threads, options=options)
        self._pool: ThreadPoolExecutor | None = None
        self._worker_net: Any = None
        self._lock = threading.Lock()

    def _prepare_image(self, tiles: Any, *, tta: bool) -> Release:
        """The tiler's hook for image-wide SE: the module's own gathering, ncnn computing the features."""
        self._kept.runs = {}
        try:
            gates = self._module.prepare_image(tiles, tta=tta, features=self._features)  # type: ignore[union-attr]
        except BaseException:
            self._kept.runs = {}  # a refused or failed image keeps no extractors alive
            raise
        return Release(gates, self._kept)

    def _run(self, net: Any, x: np.ndarray, gates: Sequence[Gate] = ()) -> np.ndarray:
        """The output of one CHW tile (SE gates fed; None or missing: the tile's own means), at the module's size."""
        out = TileRun(net, self.model, self.se_blocks, x).output(gates)
        t = self.model.trim  # a valid-convolution graph's lost ring: zeros where the tiler keeps nothing
        return np.pad(out, ((0, 0), (t, t), (t, t))) if t else out

    def _features(self, index: int, tile: torch.Tensor, block: nn.Module) -> torch.Tensor:
        """image_se's gathering hook: `block`'s input on one tile, the earlier blocks' gates as set.

        The first tiles' runs are kept for the next pass and their final run (up to KEEP_PIXELS of them),
        so they compute every layer once; the others are computed again up to each block.
        """
        run = self._kept.runs.get(index)
        if run is None:
            x = tile.detach().to("cpu", torch.float32).contiguous().numpy()
            run = TileRun(self.net, self.model, self.se_blocks, x)
            if (index + 1) * x.shape[1] * x.shape[2] <= KEEP_PIXELS:
                self._kept.runs[index] = run
        return torch.from_numpy(run.features(self.se_blocks.index(block), self._gates()))

    def _gates(self) -> list[Gate]:
        """The SE gates fixed for this thread's current image (None where not fixed)."""
        return [None if b.gate is None else vector(b.gate) for b in self.se_blocks]

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
        kept = [self._kept.take(a) for a in x] if self._kept.runs else []
        if any(kept):  # tiles whose gathering runs were kept: finish those (a mixed batch is rare)
            return torch.from_numpy(np.stack([
                run.output(gates) if run else self._run(self.net, a, gates) for run, a in zip(kept, x)]))
        if len(x) == 1 or self.workers == 1:
            outs = [self._run(self.net, a, gates) for a in x]
        else:
            pool, net = self._concurrent()
            outs = list(pool.map(lambda a: self._run(net, a, gates), x))  # ncnn releases the GIL while it runs
        return torch.from_numpy(np.stack(outs))


class NcnnBackend(Backend):
    """ncnn on the CPU for every module the exporter can express (plain conv stacks and simple DAGs)."""

    name = "ncnn"
    description = "ncnn CPU engine (PyPI ncnn) fed by a direct exporter; fp32 within 1e-5 of torch; tiles in parallel"

    def __init__(self) -> None:
        self._refusals: dict[str, str | None] = {}  # architecture + hyperparameters -> why the exporter refuses

    def _export_refusal(self, card: Card, module: nn.Module) -> str | None:
        key = json.dumps([card.architecture, card.hyperparameters], sort_keys=True, default=str)
        if key not in self._refusals:
            try:  # the card's own module: hyperparameters may change what it contains
                why = gathering_refusal(module, trace_layers(module))
                self._refusals[key] = why and f"'{card.architecture}': {why}"
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

    def working_set(self, card: Card) -> float | None:
        """The factor a plugin declared for the card's architecture (NcnnHints, through register_engine_hints)."""
        from ..registry import get_registry

        arch = get_registry().architecture(card.architecture)
        return ncnn_hints.working_set(arch.id, arch.resolve_hyperparameters(card.hyperparameters))

    def default_for(self, card: Card, *, device: str, precision: str) -> bool:
        """Eligible as the default: fp32 on the CPU stays within one 8-bit level of torch fp32."""
        return precision == "fp32" and device == "cpu"

    def prepare(self, *, module: nn.Module, arch_id: str, device: str, precision: str, threads: int | None) -> NcnnRunner:
        """Export the loaded module and load it into ncnn (zoo.load asked `supports` first)."""
        if device != "cpu" or precision not in OPTIONS:
            raise ZooError(f"Backend 'ncnn' cannot run '{arch_id}' on {device} in {precision}. Use --backend torch.")
        n = threads or cpu_count()
        try:
            model = export_ncnn(module, valid=True)
        except UnsupportedModule as err:
            raise ZooError(f"Backend 'ncnn' cannot export '{arch_id}' ({err}). Use --backend torch.") from None
        return NcnnRunner(model=model, threads=n, workers=n, options=OPTIONS[precision], module=module)
