"""PSNR/SSIM at 2× of zoo's trained models (and UpConv_7 for reference) on held-out anime-style images.

Held-out set (never used in training by configs/espcn7.yaml, configs/drrn-lite.yaml or configs/drrn-lite-7u.yaml): the miku_bg
family of ../shared/images/waifu2x (miku_bg.png, miku_small.png, miku_128.png: the same drawing at
different sizes, all excluded from training) plus synthetic images with seeds 1000000.. (training
uses seeds 0..499). Protocol = `zoo eval`: HR shrunk 2× by PIL bicubic, PSNR on Y (BT.601, 16–235)
and RGB of 8-bit outputs, 4 px border excluded, mean over images.

    .venv/bin/python benchmarks/eval_trained.py [--models espcn7 drrn-lite upconv7-scale2x] [--write-cards]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch
import yaml

from zoo_core.api import get_card
from zoo_core.cards import parse_card
from zoo_core.train.evaluate import evaluate_folder, format_table
from zoo_core.train.synthetic import synthetic_image
from zoo_core.weights.safetensors_io import atomic_write_bytes

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "images" / "waifu2x"
REAL = ("miku_bg.png", "miku_small.png", "miku_128.png")
SYNTHETIC = range(1_000_000, 1_000_006)
BORDER = 4
TRAINED = ("espcn7", "drrn-lite", "drrn-lite-7u")  # the cards this script may write


def heldout_folders(root: Path) -> dict[str, Path]:
    """{'real': folder of the held-out miku images, 'synthetic': folder of held-out synthetic ones}."""
    real, syn = root / "real", root / "synthetic"
    real.mkdir()
    syn.mkdir()
    for name in REAL:
        shutil.copy(IMAGES / name, real / name)
    for seed in SYNTHETIC:
        synthetic_image(seed, 256).save(syn / f"synthetic-{seed}.png")
    return {"real": real, "synthetic": syn}


COMMAND = ".venv/bin/python benchmarks/eval_trained.py --write-cards"
PROTOCOL = ("HR shrunk 2x by PIL bicubic (antialiased, 8-bit); PSNR on Y (BT.601, 16-235) of 8-bit outputs, "
            f"{BORDER} px border excluded; mean over images")
DATASETS = {"real": "held-out miku_bg, miku_small, miku_128 (../shared/images/waifu2x)",
            "synthetic": f"{len(SYNTHETIC)} held-out synthetic images (seeds {SYNTHETIC[0]}..{SYNTHETIC[-1]}, 256px)"}


def metric(label: str, report: dict) -> dict:
    """One card metric in the cards' shape: name, value, bicubic, lanczos, dataset, per_image…."""
    m = report["mean"]
    return {
        "name": f"PSNR-Y 2x (dB), {label} held-out",
        "value": round(m["model"]["psnr_y"], 3),
        "bicubic": round(m["bicubic"]["psnr_y"], 3),
        "lanczos": round(m["lanczos"]["psnr_y"], 3),
        "gain_db": round(report["gain_psnr_y_vs_bicubic"], 3),
        "ssim_y": round(m["model"]["ssim_y"], 4),
        "dataset": DATASETS[label],
        "per_image": {r["image"]: {k: round(r["results"][k]["psnr_y"], 3) for k in ("model", "bicubic", "lanczos")}
                      for r in report["images"]},
        "protocol": PROTOCOL,
        "command": COMMAND,
    }


def write_metrics(card_path: Path, metrics: dict) -> None:
    """Put `metrics` first in the card's metrics, validating before the atomic write."""
    data = yaml.safe_load(card_path.read_text(encoding="utf-8"))
    data["metrics"] = {**metrics, **{k: v for k, v in (data.get("metrics") or {}).items() if k not in metrics}}
    parse_card(data, str(card_path))
    atomic_write_bytes(card_path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["espcn7", "drrn-lite", "upconv7-scale2x"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write-cards", action="store_true", help="store the figures in the card file its plugin registers")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folders = heldout_folders(Path(tmp))
        for model in args.models:
            metrics = {}
            for label, folder in folders.items():
                report = evaluate_folder(model, folder, border=BORDER, threads=args.threads)
                print(format_table(report), "\n", flush=True)
                metrics[f"psnr_y_2x_heldout_{label}"] = metric(label, report)
            print(model, {k: (v["value"], v["bicubic"], v["gain_db"]) for k, v in metrics.items()}, flush=True)
            card = Path(get_card(model).source)  # the card file in its plugin's cards/ folder
            if args.write_cards and model in TRAINED and card.is_file():  # never touch other people's cards
                write_metrics(card, metrics)
                print(f"wrote {card}")


if __name__ == "__main__":
    main()
