"""Image-wide squeeze-excitation (SE) blocks in ncnn: the gate is an extra input blob, the block's input extractable.

An SE block (a module with `gate`, `stop_here` and `excite`: zoo_core/infer/image_se.py) multiplies its input
by a per-channel gate taken from a mean over the WHOLE image. A tile alone cannot compute that mean, so the
exported graph does not pool: block k becomes `BinaryOp mul(se{k}_in, se{k}_gate)`, with `se{k}_gate` an ncnn
Input (a C-vector, broadcast over the channel) and `se{k}_in` a named blob the runner extracts. The ncnn runner
gathers the means from `se{k}_in` over all tiles, computes the gates with the module's own `excite` (two tiny
1x1 convs) and feeds them (backend_ncnn.py). A tile that is the whole image takes its own mean from
`se{k}_mean`, a global average Pooling branch computed only when extracted: it reads ncnn's packed layout in
place, where extracting `se{k}_in` would unpack and copy the map (~8 % of CUNet's time at 256²).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..capabilities import gathers_with_features, image_statistics
from .ncnn_layer import Layer

GATE_LAYER = "se_gate:"  # Input layer names: this prefix + the block's qualified module name


@dataclass(frozen=True)
class SeBlob:
    """One exported SE block: its module's qualified name, its input blob and its gate input blob."""

    module: str
    features: str
    gate: str
    mean: str


def se_layers(index: int, qualname: str, dst: str) -> tuple[str, list[Layer]]:
    """(name for the block's input blob, [gate Input, multiply]) for the index-th SE block of a graph."""
    features, gate, mean = f"se{index}_in", f"se{index}_gate", f"se{index}_mean"
    return features, [Layer("Input", GATE_LAYER + qualname, [], [gate]),
                      Layer("Pooling", mean, [features], [mean], {0: 1, 4: 1}),  # average, global
                      Layer("BinaryOp", dst, [features, gate], [dst], {0: 2})]  # 3-D x 1-D: per channel


def se_blobs(layers: list[Layer]) -> tuple[SeBlob, ...]:
    """The SE blocks of an exported layer list, in graph order."""
    gates = [lay for lay in layers if lay.type == "Input" and lay.name.startswith(GATE_LAYER)]
    return tuple(SeBlob(g.name[len(GATE_LAYER):], g.outputs[0].replace("_gate", "_in"), g.outputs[0],
                        g.outputs[0].replace("_gate", "_mean")) for g in gates)


def gathering_refusal(module: nn.Module, layers: list[Layer]) -> str | None:
    """Why ncnn cannot gather this module's image-wide SE means (its prepare_image takes no `features=`), or None."""
    if not se_blobs(layers) or image_statistics(module) is None or gathers_with_features(module):
        return None
    return "its prepare_image takes no features= hook (zoo_core/infer/image_se.py), so ncnn cannot gather its SE means"
