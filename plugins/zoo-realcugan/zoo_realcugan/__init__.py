"""zoo plugin: Real-CUGAN (bilibili UpCunet 2x/3x/4x, se and pro); zoo registers the cards in cards/."""
from __future__ import annotations

import zoo

# Real-CUGAN's -n convention (realcugan-ncnn-vulkan): -1 conservative, 0 no denoising, 1..3 denoise1x..3x.
VARIANTS = {"style": ("art",), "noise_level": (-1, 0, 1, 2, 3), "conservative": (False, True)}
# scale → (offset, context, size_multiple): offset is what the net consumes per side (Real-CUGAN's own
# reflect padding: 18, 14, 19); context is the receptive radius rounded up so 2·context fits size_multiple.
GEOMETRY = {2: (18, 19, 2), 3: (14, 16, 4), 4: (19, 20, 2)}


def _geometry(i: int):
    """The i-th GEOMETRY entry for the `scale` hyperparameter (an unknown scale fails when the net is built)."""
    return lambda hp: GEOMETRY.get(int(hp["scale"]), GEOMETRY[2])[i]


@zoo.hookimpl
def register_architectures(register):
    """realcugan (se: 2x/3x/4x) and realcugan-pro (2x/3x): one architecture each, the scale a hyperparameter.

    One architecture for all scales lets `-s 4` pick the family's native 4x card.
    """
    for arch_id, scales, card in (("realcugan", "2x/3x/4x", "realcugan-se-2x"),
                                  ("realcugan-pro", "2x/3x", "realcugan-pro-2x")):
        register(zoo.Architecture(
            id=arch_id,
            build="zoo_realcugan.model:build",
            scale=2, offset=_geometry(0), context=_geometry(1), size_multiple=_geometry(2),
            supports_fp16=True, supports_bf16=True,
            default_card=card,
            description=f"Real-CUGAN UpCunet {scales}{' (pro weights)' if 'pro' in arch_id else ''}: waifu2x CUNet's "
                        "two unpadded U-Nets with SE blocks; 4x at 64 channels, PixelShuffle and a nearest skip",
            paper="https://github.com/bilibili/ailab/tree/main/Real-CUGAN",
            variants=VARIANTS,
        ))


@zoo.hookimpl
def register_engine_hints(register):
    """ncnn: one tile's peak over its widest map, 16.4 at most, 4x (benchmarks/probe_working_set.py); a 4096² 4x run
    also keeps the SE gathering's runs beside its 805 MB output: 24 there (bench_memory.py)."""
    from zoo.plugin import NcnnHints

    for arch_id in ("realcugan", "realcugan-pro"):
        register(NcnnHints(architecture=arch_id, working_set=lambda hp: 24 if int(hp["scale"]) == 4 else 18))
