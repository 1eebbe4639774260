"""zoo plugin: waifu2x CUNet (2x and 1x denoise); zoo registers the cards in cards/."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """cunet (2x, consumes 18 input px per side) and cunet-1x (denoise only, 28 px per side).

    Context is the receptive radius (19 and 31 px: the 2x2 stride-2 layers reach one cell past the offset),
    rounded up so that 2·context is a multiple of size_multiple (tiles then end where the whole image does).
    """
    for arch_id, scale, offset, context, multiple, card in (("cunet", 2, 18, 19, 2, "cunet-scale2x"),
                                                           ("cunet-1x", 1, 28, 32, 4, "cunet-denoise1")):
        register(zoo.Architecture(
            id=arch_id,
            build=f"zoo_cunet.model:build_{scale}x",
            scale=scale,
            offset=offset,
            context=context,
            size_multiple=multiple,
            supports_fp16=True, supports_bf16=True,
            default_card=card,
            description=f"waifu2x CUNet {scale}x: two unpadded U-Nets (SE blocks, LeakyReLU 0.1), the second refining the first",
            paper="https://github.com/nagadomi/nunif",
        ))


@zoo.hookimpl
def register_engine_hints(register):
    """ncnn: one tile's peak over its widest map, 14.2 at most for both (benchmarks/probe_working_set.py)."""
    from zoo.plugin import NcnnHints

    for arch_id in ("cunet", "cunet-1x"):
        register(NcnnHints(architecture=arch_id, working_set=16))
