"""PSNR-Y at 2× of every upconv7 card against bicubic and Lanczos, on the shared waifu2x images.

Protocol: HR = each clean image in ../shared/images/waifu2x (alpha composited on white, cropped to even
sides), written as PNGs to a temporary folder; then `zoo eval CARD FOLDER --border 4 --json` (LR = HR
shrunk 2× by PIL bicubic, 8 bits; PSNR on Y, ITU-R BT.601 16–235, of the 8-bit outputs, 4 px border
excluded; mean over images). Noise cards are also measured with the LR re-encoded as JPEG at quality
100 − 10·noise_level (the seed's convention; zoo eval has no such option, so this script does it with
the same formulas), baselines on the same JPEG input.

    .venv/bin/python plugins/zoo-upconv7/benchmarks/eval_upconv7.py                # print the table
    .venv/bin/python plugins/zoo-upconv7/benchmarks/eval_upconv7.py --write-cards  # also store figures in cards
"""
from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

import zoo
from zoo.plugin import atomic_write_bytes

REPO = Path(__file__).resolve().parents[3]
IMAGES = REPO.parent / "shared" / "images" / "waifu2x"
HR_FILES = ("miku_CC_BY-NC.jpg", "miku_small.png", "miku_bg.png", "miku_128.png", "tone.png", "tta.png")
BORDER = 4
COMMAND = ".venv/bin/python plugins/zoo-upconv7/benchmarks/eval_upconv7.py --write-cards"
PROTOCOL = ("HR shrunk 2x by PIL bicubic (antialiased, 8-bit); PSNR on Y (BT.601, 16-235) of 8-bit outputs, "
            f"{BORDER} px border excluded; mean over images")


def load_hr(path: Path) -> Image.Image:
    """RGB with alpha composited on white, cropped to even sides."""
    img = Image.open(path)
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    img = img.convert("RGB")
    return img.crop((0, 0, img.width // 2 * 2, img.height // 2 * 2))


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """Re-encode as JPEG at `quality` (PIL defaults: 4:2:0 chroma subsampling)."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB on BT.601 Y of two HxWx3 uint8 images, border excluded."""
    w = np.array([65.481, 128.553, 24.966]) / 255.0
    ya = a.astype(np.float64) @ w + 16
    yb = b.astype(np.float64) @ w + 16
    s = slice(BORDER, -BORDER)
    mse = float(np.mean((ya[s, s] - yb[s, s]) ** 2))
    return 100.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def scores(up: "zoo.Upscaler", hr: Image.Image, lr: Image.Image) -> tuple[float, float, float]:
    """(model, bicubic, Lanczos) PSNR-Y of LR upscaled back to HR's size."""
    ref = np.asarray(hr)
    model = np.asarray(up.upscale(lr))
    bic = np.asarray(lr.resize(hr.size, Image.BICUBIC))
    lan = np.asarray(lr.resize(hr.size, Image.LANCZOS))
    return psnr_y(ref, model), psnr_y(ref, bic), psnr_y(ref, lan)


def evaluate(name: str, images: dict[str, Image.Image], quality: int | None) -> dict:
    """One metric entry: means over images plus per-image (model, bicubic, Lanczos)."""
    up = zoo.load(name, backend="torch", threads=1)
    per = {}
    for fname, hr in images.items():
        lr = hr.resize((hr.width // 2, hr.height // 2), Image.BICUBIC)
        per[fname] = [round(v, 3) for v in scores(up, hr, jpeg(lr, quality) if quality else lr)]
    mean = [round(float(np.mean([v[i] for v in per.values()])), 3) for i in range(3)]
    entry = {"name": "PSNR-Y 2x (dB)" + (f", LR as JPEG q{quality}" if quality else ""), "value": mean[0],
             "bicubic": mean[1], "lanczos": mean[2], "dataset": f"waifu2x images ({len(images)})",
             "per_image": {k: {"model": v[0], "bicubic": v[1], "lanczos": v[2]} for k, v in per.items()},
             "protocol": PROTOCOL + (f"; LR re-encoded as JPEG quality {quality}" if quality else ""),
             "command": COMMAND}
    return entry


def zoo_eval(name: str, folder: Path) -> dict:
    """The clean-input metric, measured by `zoo eval` itself."""
    cmd = [sys.executable, "-m", "zoo", "eval", name, str(folder), "--border", str(BORDER), "--json", "--threads", "1"]
    report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    mean = {m: round(report["mean"][m]["psnr_y"], 3) for m in ("model", "bicubic", "lanczos")}
    per = {r["image"]: {m: round(r["results"][m]["psnr_y"], 3) for m in ("model", "bicubic", "lanczos")}
           for r in report["images"]}
    return {"name": "PSNR-Y 2x (dB)", "value": mean["model"], "bicubic": mean["bicubic"], "lanczos": mean["lanczos"],
            "dataset": f"waifu2x images ({len(per)})", "per_image": per, "protocol": PROTOCOL,
            "command": COMMAND, "measured_by": f"zoo eval {name} HR_FOLDER --border {BORDER} --json"}


def write_card(name: str, metrics: dict) -> None:
    """Replace the card's metrics, keeping everything else as written by scripts/make_upconv7_cards.py."""
    path = REPO / "plugins" / "zoo-upconv7" / "zoo_upconv7" / "cards" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    data["metrics"] = metrics
    zoo.parse_card(data, str(path))  # validate before writing
    atomic_write_bytes(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120).encode())


def main() -> int:
    """Evaluate all upconv7 cards and print a table (and write the cards if asked)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-cards", action="store_true")
    ap.add_argument("--only", help="glob of card names (default upconv7-*)", default="upconv7-*")
    args = ap.parse_args()
    missing = [f for f in HR_FILES if not (IMAGES / f).is_file()]
    if missing:
        print(f"error: {IMAGES} lacks {', '.join(missing)}; this benchmark needs ../shared.", file=sys.stderr)
        return 1
    images = {f: load_hr(IMAGES / f) for f in HR_FILES}
    folder = Path(tempfile.mkdtemp(prefix="zoo-eval-hr-"))
    for f, img in images.items():
        img.save(folder / f"{Path(f).stem}.png")
    print(f"{'model':<24} {'input':<8} {'model':>7} {'bicubic':>8} {'lanczos':>8}  (PSNR-Y dB, mean of {len(images)})")
    for card in zoo.list_models(args.only):
        metrics = {"psnr_y_2x": zoo_eval(card.name, folder)}
        if card.noise_level >= 0:
            metrics["psnr_y_2x_jpeg"] = evaluate(card.name, images, 100 - 10 * card.noise_level)
        for key, m in metrics.items():
            label = "clean" if key == "psnr_y_2x" else f"jpeg{100 - 10 * card.noise_level}"
            print(f"{card.name:<24} {label:<8} {m['value']:>7.2f} {m['bicubic']:>8.2f} {m['lanczos']:>8.2f}", flush=True)
        if args.write_cards:
            write_card(card.name, metrics)
    shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
