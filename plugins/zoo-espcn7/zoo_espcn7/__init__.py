"""zoo plugin: the seed's ESPCN_7 architecture, its trained weights and its card (cards/)."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """ESPCN_7: same-padded, so offset 0; seven 3×3 layers give a receptive radius of 7 input pixels."""
    register(zoo.Architecture(
        id="espcn7",
        build="zoo_espcn7.model:build",  # imported when a network is built, so `zoo list` does not load torch
        scale=2,
        offset=0,
        context=7,
        default_card="espcn7",
        description="ESPCN_7 (seed): 6 SELU 3×3 convs 64…256 ch, optional selection units, PixelShuffle",
        paper="https://arxiv.org/abs/1609.05158",
    ))


@zoo.hookimpl
def register_engine_hints(register):
    """ncnn: one tile's peak over its widest map (benchmarks/probe_working_set.py): 14.7-15.0 at T=128 (fixed buffers
    weigh on small maps), 12.7 at 160, 10.4-11.0 at 192-256 where its default tiles run: 15 covers every side."""
    from zoo.plugin import NcnnHints

    register(NcnnHints(architecture="espcn7", working_set=15))
