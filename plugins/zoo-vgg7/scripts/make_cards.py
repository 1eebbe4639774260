"""Rebuild this plugin's weights and card from waifu2x's original vgg_7 JSON (ukbench, scale2.0x).

No PyPI package carries vgg_7, so the converted weights ship in zoo_vgg7/weights/ and the card pins their
sha256. This script runs `zoo convert --format json` twice on the original (../shared by default), checks
that both runs give the same bytes, then writes the weights and the card (keeping its measured metrics):

    .venv/bin/python plugins/zoo-vgg7/scripts/make_cards.py            # rewrite weights and card
    .venv/bin/python plugins/zoo-vgg7/scripts/make_cards.py --check    # exit 1 if anything shipped differs
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

PLUGIN = Path(__file__).resolve().parents[1] / "zoo_vgg7"
SOURCE = Path(__file__).resolve().parents[4] / "shared/upstream/waifu2x-json/vgg_7/ukbench/scale2.0x_model.json"
NAME, ARCH = "vgg7-scale2x", "vgg7"
UPSTREAM_PATH = "models/ukbench/scale2.0x_model.json"  # its path in nagadomi/waifu2x (git blob 52cf16cf)
COMMAND = f"zoo convert --arch {ARCH} --format json scale2.0x_model.json -o {NAME}.safetensors"
DESCRIPTION = (
    "The original waifu2x vgg_7 for photographs (trained on the ukbench photo set), 2x without denoising. "
    "waifu2x's first network: the image is enlarged 2x by nearest neighbour, then seven 3x3 convolutions "
    "restore it at output resolution (2.1x UpConv_7's multiply-adds per output pixel). Superseded in waifu2x by "
    "UpConv_7 (upconv7-photo-scale2x); kept for comparison and for reproducing old waifu2x photo results.")


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def convert(source: Path, out: Path) -> bytes:
    """Run `zoo convert` as a user would and return the bytes it wrote."""
    cmd = [sys.executable, "-m", "zoo", "convert", "--arch", ARCH, "--format", "json", str(source), "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:  # zoo's own one-line error says why
        raise SystemExit(f"error: `zoo convert` failed: {(done.stderr or done.stdout).strip().splitlines()[-1]}")
    return out.read_bytes()


def card(digest: str, source_sha: str, old: dict[str, Any]) -> dict[str, Any]:
    """The card as plain data; metrics already measured are kept."""
    data: dict[str, Any] = {
        "name": NAME,
        "architecture": ARCH,
        "task": {"scale": 2, "noise_level": -1, "style": "photo"},
        "weights": {"file": f"zoo_vgg7:weights/{NAME}.safetensors", "sha256": digest},
        "upstream": {
            "description": "waifu2x vgg_7 ukbench scale2.0x (nagadomi/waifu2x models/ukbench/scale2.0x_model.json), "
                           "a genuine export of waifu2x's JSON format; model_config: arch_name vgg_7, scale_factor 1 "
                           "(the network keeps the size: waifu2x enlarges 2x by nearest neighbour first), "
                           "channels 3 (RGB), offset 7 (output pixels consumed per side)",
            "url": "https://github.com/nagadomi/waifu2x",
            "license": "MIT",
            "format": "json",
            "files": [{"path": UPSTREAM_PATH, "sha256": source_sha}],
            "command": COMMAND,
        },
        "license": "MIT",
        "description": DESCRIPTION,
        "tags": ["waifu2x", "vgg7", "photo", "super-resolution"],
    }
    if old.get("metrics"):
        data["metrics"] = old["metrics"]
    return data


def main() -> int:
    """Convert twice, compare, then write (or --check) the weights and the card."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=SOURCE, help="waifu2x's scale2.0x_model.json (vgg_7, ukbench)")
    ap.add_argument("--check", action="store_true", help="only compare a fresh conversion with what ships")
    args = ap.parse_args()
    if not args.source.is_file():
        print(f"error: {args.source} does not exist; pass --source with waifu2x's ukbench scale2.0x_model.json.",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        first, second = (convert(args.source, Path(tmp) / f"{i}.safetensors") for i in (1, 2))
    if first != second:
        print("error: two conversions of the same file differ; `zoo convert` is not deterministic.", file=sys.stderr)
        return 1
    weights, card_path = PLUGIN / "weights" / f"{NAME}.safetensors", PLUGIN / "cards" / f"{NAME}.yaml"
    old = yaml.safe_load(card_path.read_text()) if card_path.is_file() else {}
    new = card(sha256(first), sha256(args.source.read_bytes()), old)
    if args.check:
        ok = weights.is_file() and weights.read_bytes() == first and old == new
        print(f"{NAME}: {sha256(first)} {'ok' if ok else 'DIFFERS from the shipped weights or card'}")
        return 0 if ok else 1
    import zoo  # validates the card as zoo will read it

    zoo.parse_card(new, str(card_path))
    weights.write_bytes(first)
    card_path.write_text(yaml.safe_dump(new, sort_keys=False, allow_unicode=True, width=120))
    print(f"{NAME}: {sha256(first)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
