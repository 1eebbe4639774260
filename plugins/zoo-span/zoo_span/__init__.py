"""zoo plugin: SPAN (Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution", 2024).

No cards ship here: SPAN models are community files, added with `zoo import FILE` (this plugin recognises them).
"""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """span: six parameter-free attention blocks of fused 3x3 convs at LR, then a PixelShuffle; no torch import."""
    register(zoo.Architecture(
        id="span",
        build="zoo_span.model:build",
        scale=4,
        offset=0,
        # 3x3 convs: conv_1, three per block in six blocks, conv_2, the upsampler's (conv_cat is 1x1): 21 px per side
        context=21,
        description="SPAN: Conv3XC (fused to 3x3) + SiLU blocks whose output is gated by sigmoid(x) - 0.5, PixelShuffle",
        paper="https://arxiv.org/abs/2311.12770",
    ))


@zoo.hookimpl
def register_recognizers(register):
    """Community SPAN files (training-form Conv3XC branches and/or their fused eval_conv), any width and scale."""
    register(zoo.Recognizer(name="span", architecture="span", recognize="zoo_span.recognize:span",
                            description="SPAN (hongyuanyu/SPAN and its NTIRE 2024 / community trainers' layout)"))
