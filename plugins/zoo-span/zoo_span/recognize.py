"""SPAN files recognised from their keys (no torch here): conv_1 / block_N.cK_r / conv_2 as Conv3XC, conv_cat, upsampler.

A Conv3XC is saved with its training branches (sk, conv.0-2) and, usually, the fused eval_conv; the branches are
what the authors' eval mode fuses on every forward, so they win (an eval_conv saved before any eval forward is
stale); a file with only eval_conv is taken as it is. A `no_norm` buffer says the input is not mean-shifted.
"""
from __future__ import annotations

import re
from typing import Mapping

import zoo

from .model import BLOCKS

CONVS = ["conv_1", "conv_2"] + [f"block_{b}.c{k}_r" for b in range(1, BLOCKS + 1) for k in (1, 2, 3)]
BRANCH = ("sk", "conv.0", "conv.1", "conv.2")
OPTIONAL = ("no_norm", "mean")  # buffers some trainers save: not weights


def span(shapes: Mapping[str, tuple]) -> zoo.Recognized | None:
    """Hyperparameters and key map of a SPAN state dict, or None for another layout."""
    if "conv_cat.weight" not in shapes or "block_1.c1_r.sk.weight" not in shapes and \
            "block_1.c1_r.eval_conv.weight" not in shapes:
        return None
    if any(re.match(rf"block_{BLOCKS + 1}\.", k) for k in shapes) or f"block_{BLOCKS}.c3_r.sk.weight" not in shapes \
            and f"block_{BLOCKS}.c3_r.eval_conv.weight" not in shapes:
        raise ValueError("not six blocks")
    keys: dict[str, str] = {}
    for conv in CONVS:
        fused = [f"{conv}.{b}.{p}" for b in BRANCH for p in ("weight", "bias") if f"{conv}.{b}.{p}" in shapes]
        keys.update({k: k for k in fused} if fused else
                    {f"{conv}.eval_conv.{p}": f"{conv}.eval_conv.{p}" for p in ("weight", "bias")})
    for name in ("conv_cat", "upsampler.0"):
        keys.update({f"{name}.{p}": f"{name}.{p}" for p in ("weight", "bias") if f"{name}.{p}" in shapes})
    if "learn_residual" in shapes:
        raise zoo.WeightsError("it is SPAN with a learned-residual bilinear skip (a later variant); not supported.")
    extra = sorted(set(shapes) - set(keys) - set(OPTIONAL) - {f"{c}.eval_conv.{p}" for c in CONVS for p in ("weight", "bias")})
    if extra:
        raise ValueError(f"unexpected tensors {extra[:3]}")
    channels = shapes["conv_cat.weight"][0]
    cin = (shapes.get("conv_1.sk.weight") or shapes["conv_1.eval_conv.weight"])[1]
    out = shapes["upsampler.0.weight"][0]
    scale = int(round((out / 3) ** 0.5))
    if cin != 3 or out != 3 * scale * scale:
        raise zoo.WeightsError(f"it takes {cin} channels and gives {out} (3·scale² expected); zoo runs RGB SPAN models.")
    hp = {"feature_channels": channels, "scale": scale, "norm": "no_norm" not in shapes}
    return zoo.Recognized(hyperparameters=hp, keys=keys, scale=scale, convert="zoo_span.fuse:convert")
