"""PSNR/SSIM at 2× of zoo's trained models (and UpConv_7 for reference) on held-out anime-style images.

Held-out set (never used in training by configs/espcn7.yaml or configs/drrn-lite.yaml): the miku_bg
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

from zoo_core.cards import parse_card
from zoo_core.train.evaluate import evaluate_folder, format_table
from zoo_core.train.synthetic import synthetic_image
from zoo_core.weights.safetensors_io import atomic_write_bytes

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "images" / "waifu2x"
REAL = ("miku_bg.png", "miku_small.png", "miku_128.png")
SYNTHETIC = range(1_000_000, 1_000_006)
BORDER = 4


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


def write_metrics(card_path: Path, metrics: dict[str, float]) -> None:
    """Merge `metrics` into a card's metrics, validating before the atomic write."""
    data = yaml.safe_load(card_path.read_text(encoding="utf-8"))
    data["metrics"] = {**data.get("metrics", {}), **metrics}
    parse_card(data, str(card_path))
    atomic_write_bytes(card_path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["espcn7", "drrn-lite", "upconv7-scale2x"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write-cards", action="store_true", help="store the figures in model_cards/MODEL.yaml")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folders = heldout_folders(Path(tmp))
        for model in args.models:
            metrics: dict[str, float] = {}
            for label, folder in folders.items():
                report = evaluate_folder(model, folder, border=BORDER, threads=args.threads)
                print(format_table(report), "\n", flush=True)
                m = report["mean"]
                metrics[f"heldout_{label}_psnr_y"] = round(m["model"]["psnr_y"], 2)
                metrics[f"heldout_{label}_bicubic_psnr_y"] = round(m["bicubic"]["psnr_y"], 2)
                metrics[f"heldout_{label}_gain_db"] = round(report["gain_psnr_y_vs_bicubic"], 2)
                metrics[f"heldout_{label}_ssim_y"] = round(m["model"]["ssim_y"], 4)
                for row in report["images"] if label == "real" else []:
                    r = row["results"]
                    metrics[f"gain_db/{row['image']}"] = round(r["model"]["psnr_y"] - r["bicubic"]["psnr_y"], 2)
            print(model, metrics, flush=True)
            card = REPO / "model_cards" / f"{model}.yaml"
            if args.write_cards and card.is_file():
                write_metrics(card, metrics)
                print(f"wrote {card}")


if __name__ == "__main__":
    main()
