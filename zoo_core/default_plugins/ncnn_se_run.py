"""One tile of an exported network with image-wide SE blocks (ncnn_se.py) in one ncnn extractor, gate by gate.

ncnn computes a blob only when it is extracted, from what the extractor already holds: a tile's run can stop
at SE block k's input (a gathering pass), be given gate k later and go on, so a tile kept between the
gathering passes computes each of its layers once. Gates are fed in graph order; a missing gate (None) is
taken from the tile's own mean, which is what the torch module does when it is called directly.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ZooError
from .ncnn_export import NcnnModel

Gate = np.ndarray | None


def vector(gate: torch.Tensor) -> np.ndarray:
    """A (1, C, 1, 1) gate as the C-vector ncnn broadcasts over channels."""
    return np.ascontiguousarray(gate.detach().reshape(-1).to("cpu", torch.float32).numpy())


def own_gate(block: nn.Module, mean: np.ndarray) -> np.ndarray:
    """The gate for a tile's own mean (ncnn's global average: within ~2e-6 of torch's float64 sum)."""
    with torch.inference_mode():
        return vector(block.excite(torch.from_numpy(mean.reshape(-1))[None, :, None, None]))


class TileRun:
    """One CHW tile in one ncnn extractor; gates are fed in graph order and every blob is computed once."""

    def __init__(self, net: Any, model: NcnnModel, blocks: Sequence[nn.Module], x: np.ndarray):
        import ncnn

        self.model, self.blocks, self.x = model, blocks, x
        self.ex = net.create_extractor()
        # ncnn.Mat(array) borrows the array with channels h*w apart, where ncnn's own Mats align each channel to
        # 16 bytes; some layers (Crop) assume the alignment: the clone is a Mat of ncnn's own layout
        self.ex.input(model.input_name, ncnn.Mat(x).clone())
        self.fed: list[np.ndarray] = []  # the gates fed so far (borrowed by ncnn too)

    def extract(self, blob: str, *, copy: bool = True) -> np.ndarray:
        """`blob`, computed from what the extractor holds (copy=False: a view that keeps ncnn's Mat alive)."""
        ret, out = self.ex.extract(blob)
        if ret != 0:
            raise ZooError(f"ncnn failed on a {self.x.shape[1]}x{self.x.shape[2]} tile (code {ret}); "
                           "try --backend torch.")
        return np.array(out) if copy else np.asarray(out)

    def advance(self, gates: Sequence[Gate], until: int) -> None:
        """Feed the gates of blocks up to `until` (exclusive) not fed yet; None: the tile's own mean."""
        import ncnn

        for k in range(len(self.fed), until):
            gate = gates[k] if k < len(gates) and gates[k] is not None else None
            if gate is None:
                gate = own_gate(self.blocks[k], self.extract(self.model.se[k].mean))
            self.fed.append(gate)
            self.ex.input(self.model.se[k].gate, ncnn.Mat(gate))

    def features(self, k: int, gates: Sequence[Gate]) -> np.ndarray:
        """SE block k's input on this tile, the earlier gates fed."""
        self.advance(gates, k)
        return self.extract(self.model.se[k].features, copy=False)  # ncnn clones a shared blob before in-place work

    def output(self, gates: Sequence[Gate]) -> np.ndarray:
        """The network's output on this tile, every gate fed."""
        self.advance(gates, len(self.model.se))
        return self.extract(self.model.output_name)


class KeptRuns(threading.local):
    """Per thread, the current image's tile runs kept between gathering passes (by tile index)."""

    runs: dict[int, TileRun]

    def __init__(self) -> None:
        self.runs = {}

    def take(self, x: np.ndarray) -> TileRun | None:
        """The kept run of a tile with exactly these pixels (the tiler reads each tile again to run it)."""
        for index, run in self.runs.items():
            if run.x.shape == x.shape and np.array_equal(run.x, x):
                return self.runs.pop(index)
        return None


class Release:
    """The handle prepare_image returns: closing it forgets the gates and the kept runs."""

    def __init__(self, gates: Any, kept: KeptRuns):
        self.gates, self.kept = gates, kept

    def close(self) -> None:
        """Forget this image's gates and runs."""
        self.kept.runs = {}
        self.gates.close()
