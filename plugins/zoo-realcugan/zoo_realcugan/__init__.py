"""zoo plugin: Real-CUGAN (bilibili UpCunet 2x/3x/4x, se and pro); zoo registers the cards in cards/."""
from __future__ import annotations

import zoo

# Real-CUGAN's -n convention (realcugan-ncnn-vulkan): -1 conservative, 0 no denoising, 1..3 denoise1x..3x.
VARIANTS = {"style": ("art",), "noise_level": (-1, 0, 1, 2, 3), "conservative": (False, True)}
# scale → (offset, context, size_multiple): offset is what the net consumes per side (Real-CUGAN's own
# reflect padding: 18, 14, 19); context is the receptive radius rounded up so 2·context fits size_multiple.
GEOMETRY = {2: (18, 19, 2), 3: (14, 16, 4), 4: (19, 20, 2)}


@zoo.hookimpl
def register_architectures(register):
    """realcugan-2x/3x/4x (se weights) and realcugan-pro-2x/3x: one architecture per scale (offsets differ)."""
    for edition, scales in (("", (2, 3, 4)), ("pro-", (2, 3))):
        for scale in scales:
            offset, context, multiple = GEOMETRY[scale]
            register(zoo.Architecture(
                id=f"realcugan-{edition}{scale}x",
                build=f"zoo_realcugan.model:build_{'pro_' if edition else ''}{scale}x",
                scale=scale, offset=offset, context=context, size_multiple=multiple,
                supports_fp16=True, supports_bf16=True,
                default_card=f"realcugan-{edition or 'se-'}{scale}x",
                description=f"Real-CUGAN UpCunet{scale}x{' (pro)' if edition else ''}: waifu2x CUNet's two unpadded "
                            "U-Nets with SE blocks" + (", 64-channel, PixelShuffle and a nearest skip" if scale == 4 else ""),
                paper="https://github.com/bilibili/ailab/tree/main/Real-CUGAN",
                variants=VARIANTS,
            ))
