"""zoo plugin: Real-ESRGAN's networks (SRVGGNetCompact, RRDBNet); zoo registers the cards in cards/."""
from __future__ import annotations

import zoo

from . import geometry


@zoo.hookimpl
def register_architectures(register):
    """srvgg-compact (animevideov3: 4x, or 2x/3x via a bicubic downscale) and rrdbnet (x4plus); no torch import here."""
    register(zoo.Architecture(
        id="srvgg-compact",
        build="zoo_realesrgan.srvgg:build",
        scale=4,
        offset=0,
        # receptive radius: one input pixel per conv, plus one for the bicubic downscale's taps
        context=lambda hp: int(hp["num_conv"]) + 2 + (int(hp["scale"]) != int(hp["upscale"])),
        supports_fp16=True, supports_bf16=True,
        default_card="realesrgan-animevideov3-4x",
        description="Real-ESRGAN SRVGGNetCompact: same-padded 3x3 convs + PReLU at LR, PixelShuffle, nearest skip",
        paper="https://github.com/xinntao/Real-ESRGAN",
    ))
    register(zoo.Architecture(
        id="rrdbnet",
        build="zoo_realesrgan.rrdbnet:build",
        scale=4,
        # the network drops all of its context but the 4x tail's 2 px after its trunk: output 4x(input - 2*offset)
        offset=lambda hp: geometry.trim(int(hp["num_block"])),
        context=lambda hp: geometry.context(int(hp["num_block"])),
        # The cards set the real sizes (64/32 channels, 6 or 23 blocks); the builder's small defaults keep random
        # builds (every architecture's conformance tests) affordable: exact tiles need 15 px of context per block.
        default_card="realesrgan-x4plus",
        description="ESRGAN RRDBNet: residual-in-residual dense blocks at LR, two nearest 2x upsamplings with convs",
        paper="https://arxiv.org/abs/1809.00219",
    ))
    # Community files (`zoo import`): the same modules with what the files vary. Separate ids, so the built-in
    # cards' hyperparameters (and the sha256 of weights rebuilt from their ncnn files) stay as they are.
    register(zoo.Architecture(
        id="esrgan",
        build="zoo_realesrgan.rrdbnet:build_esrgan",
        scale=4,
        offset=lambda hp: geometry.trim(int(hp["num_block"])) * int(hp["unshuffle"]),
        context=lambda hp: geometry.context(int(hp["num_block"]), int(hp["unshuffle"])),
        size_multiple=lambda hp: int(hp["unshuffle"]),  # a pixel-unshuffled input (1x/2x files): whole cells
        description="ESRGAN / Real-ESRGAN RRDBNet as community files have it: 1x-8x, pixel-unshuffled input, ESRGAN+",
        paper="https://arxiv.org/abs/1809.00219",
    ))
    register(zoo.Architecture(
        id="compact",
        build="zoo_realesrgan.srvgg:build_compact",
        scale=4,
        offset=0,
        context=lambda hp: int(hp["num_conv"]) + 2,  # one input pixel per 3x3 conv
        description="Real-ESRGAN SRVGGNetCompact as community files have it: any width, depth, scale, activation",
        paper="https://github.com/xinntao/Real-ESRGAN",
    ))



@zoo.hookimpl
def register_recognizers(register):
    """Community ESRGAN files (three key layouts, any scale, width and depth, ESRGAN+) and Compact files."""
    for name, function, arch, what in (
        ("esrgan-old", "esrgan_old", "esrgan", "ESRGAN, original repository's model.N layout"),
        ("esrgan-2019", "esrgan_2019", "esrgan", "ESRGAN, RRDB_trunk / trunk_conv layout"),
        ("esrgan-basicsr", "esrgan_basicsr", "esrgan", "ESRGAN / Real-ESRGAN, BasicSR's conv_first / body layout"),
        ("compact", "compact", "compact", "SRVGGNetCompact (Real-ESRGAN Compact), any width/depth/scale"),
    ):
        register(zoo.Recognizer(name=name, architecture=arch, recognize=f"zoo_realesrgan.recognize:{function}",
                                description=what))


@zoo.hookimpl
def register_engine_hints(register):
    """ncnn: one tile's peak over its widest map (benchmarks/probe_working_set.py).

    srvgg-compact: 12.2 at most. rrdbnet: 20.0 at most (64-px tiles, the dense trunk on its context); 40% over it,
    as its 4096² run has the least room: with the valid export's centre crops (ncnn_unpad) x4plus-anime at 24
    (112-px tiles) measured 2988 MB est. (benchmarks/README.md).
    """
    from zoo.plugin import NcnnHints

    register(NcnnHints(architecture="srvgg-compact", working_set=13))
    register(NcnnHints(architecture="rrdbnet", working_set=28))
    register(NcnnHints(architecture="compact", working_set=13))  # imported files: the same modules as above
    register(NcnnHints(architecture="esrgan", working_set=28))
