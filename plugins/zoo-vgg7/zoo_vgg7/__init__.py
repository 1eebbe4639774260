"""zoo plugin: waifu2x's vgg_7 architecture and its converted weights; zoo registers the cards in cards/."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """vgg_7: nearest 2x, then 7 unpadded convs (7 HR px per side), counted here as 4 input px per side.

    waifu2x pads the 2x image by 7 px (edge replication); padding the input by 4 px instead gives the same
    8 replicated HR px per side, and the network drops the 1 HR px per side nobody asked for (see model.py).
    An output pixel reads HR pixels within 7 of it, i.e. input pixels within 4: the context.
    """
    register(zoo.Architecture(
        id="vgg7",
        build="zoo_vgg7.model:build",  # imported when a network is built, so `zoo list` does not load torch
        scale=2,
        offset=4,
        context=4,
        default_card="vgg7-scale2x",
        variants={"style": ("photo",), "noise_level": (-1,)},  # the one surviving JSON: ukbench (photo), 2x
        description="waifu2x vgg_7: nearest-neighbour 2x, then 7 unpadded 3×3 convs (32…128 ch, LeakyReLU 0.1)",
        paper="https://github.com/nagadomi/waifu2x",
    ))


@zoo.hookimpl
def register_engine_hints(register):
    """ncnn: one tile's peak over its widest map, 12.9 at most (benchmarks/probe_working_set.py)."""
    from zoo.plugin import NcnnHints

    register(NcnnHints(architecture="vgg7", working_set=14))
