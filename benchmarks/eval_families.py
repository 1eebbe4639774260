"""PSNR-Y of the CUNet and Real-ESRGAN cards at their native scale, against bicubic and Lanczos, on the
shared waifu2x images (the protocol of eval_upconv7.py: alpha on white, `zoo eval CARD DIR --border 4
--json`, LR = HR shrunk by the card's scale with PIL bicubic, PSNR on Y of 8-bit outputs, mean over images).
HR sides are cropped to multiples of 12 so that 2x, 3x and 4x all divide them.

    .venv/bin/python benchmarks/eval_families.py [--cards …]               # print the table
    .venv/bin/python benchmarks/eval_families.py --write-cards             # also store the figures in the cards
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

import zoo
from zoo_core.cardgen import write_card as write_card_file

UPCONV7 = Path(__file__).resolve().parents[1] / "plugins" / "zoo-upconv7" / "benchmarks"  # UpConv_7's eval protocol
sys.path.insert(0, str(UPCONV7))
from eval_upconv7 import BORDER, HR_FILES, IMAGES, load_hr  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CARDS = ["cunet-scale2x", "cunet-noise1", "realesrgan-animevideov3-2x", "realesrgan-animevideov3-3x",
         "realesrgan-animevideov3-4x", "realesrgan-x4plus-anime", "vgg7-scale2x"]
# Not here: realesrgan-x4plus (photo, 349 px of context: too slow on these images), the 1x cunet-denoise cards and the
# Real-CUGAN denoise/conservative cards: eval_corpus.py measures them (--noise N for the denoisers).
COMMAND = ".venv/bin/python benchmarks/eval_families.py --write-cards"


def zoo_eval(name: str, folder: Path, scale: int) -> dict:
    """The card's metric as `zoo eval` measures it."""
    cmd = [sys.executable, "-m", "zoo", "eval", name, str(folder), "--border", str(BORDER), "--json", "--threads", "1"]
    report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    mean = {m: round(report["mean"][m]["psnr_y"], 3) for m in ("model", "bicubic", "lanczos")}
    per = {r["image"]: {m: round(r["results"][m]["psnr_y"], 3) for m in ("model", "bicubic", "lanczos")}
           for r in report["images"]}
    return {"name": f"PSNR-Y {scale}x (dB)", "value": mean["model"], "bicubic": mean["bicubic"],
            "lanczos": mean["lanczos"], "dataset": f"waifu2x images ({len(per)})", "per_image": per,
            "protocol": f"HR shrunk {scale}x by PIL bicubic (antialiased, 8-bit); PSNR on Y (BT.601, 16-235) of 8-bit "
                        f"outputs, {BORDER} px border excluded; mean over images",
            "command": COMMAND, "measured_by": f"zoo eval {name} HR_FOLDER --border {BORDER} --json"}


def write_card(card: zoo.Card, key: str, metric: dict) -> None:
    """Store the metric in the card file, keeping everything else as its plugin's make_cards.py wrote it."""
    path = Path(card.source)
    data = yaml.safe_load(path.read_text())
    data.setdefault("metrics", {})[key] = metric
    write_card_file(path, data)  # validated, the YAML make_cards.py writes


def main() -> int:
    """Evaluate each card; print a Markdown table (and write the cards)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", nargs="+", default=CARDS)
    ap.add_argument("--write-cards", action="store_true")
    args = ap.parse_args()
    print("| card | scale | model | bicubic | gain over bicubic | lanczos |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for f in HR_FILES:
            img = load_hr(IMAGES / f)
            img.crop((0, 0, img.width // 12 * 12, img.height // 12 * 12)).save(Path(tmp) / (Path(f).stem + ".png"))
        for name in args.cards:
            card = zoo.get_card(name)
            m = zoo_eval(name, Path(tmp), card.scale)
            print(f"| {name} | {card.scale} | {m['value']:.2f} | {m['bicubic']:.2f} | {m['value'] - m['bicubic']:+.2f} | "
                  f"{m['lanczos']:.2f} |", flush=True)
            if args.write_cards:
                write_card(card, f"psnr_y_{card.scale}x", m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
