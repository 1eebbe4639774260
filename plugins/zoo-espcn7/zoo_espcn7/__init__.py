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
        working_set=16,  # one ncnn tile's peak over its widest map: 14.7 at most (benchmarks/probe_working_set.py)
        description="ESPCN_7 (seed): 6 SELU 3×3 convs 64…256 ch, optional selection units, PixelShuffle",
        paper="https://arxiv.org/abs/1609.05158",
    ))
