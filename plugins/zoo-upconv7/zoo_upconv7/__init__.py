"""zoo plugin: the UpConv_7 architecture; its ten cards (cards/) are registered from this package."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """UpConv_7: 2×, consumes 7 input pixels per side."""
    register(zoo.Architecture(
        id="upconv7",
        build="zoo_upconv7.model:build",  # imported when a network is built, so `zoo list` does not load torch
        scale=2,
        offset=7,
        context=7,
        default_card="upconv7-scale2x",
        variants={"style": ("art", "photo"), "noise_level": (-1, 0, 1, 2, 3)},  # its ten cards: 2 styles × 5 levels
        description="waifu2x UpConv_7: 6 unpadded 3×3 convs (16…256 ch, LeakyReLU 0.1) + 4×4 stride-2 deconv",
        paper="https://github.com/nagadomi/waifu2x",
    ))


@zoo.hookimpl
def register_engine_hints(register):
    """ncnn: one tile's peak over its widest map, 10.1 at most (benchmarks/probe_working_set.py)."""
    from zoo.plugin import NcnnHints

    register(NcnnHints(architecture="upconv7", working_set=11))
