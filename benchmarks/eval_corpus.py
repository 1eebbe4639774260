"""PSNR-Y gain over bicubic at 2x on the validation split of a prepared corpus (default: debian-art).

Never trained on (the split is by source picture, `zoo data prepare`); this is what checkpoints and settings
are chosen on. Two sets, scored separately:
- real art: 192 px HR crops spread over each Ren'Py demo validation illustration (8 per picture);
- drawings: the most detailed 192 px crop of 48 Open Clip Art validation renderings (spread over the list).
Protocol = `zoo eval`: HR shrunk 2x by PIL bicubic, PSNR on Y (BT.601, 16-235) of 8-bit outputs, 4 px border.

    .venv/bin/python benchmarks/eval_corpus.py [--models upconv7-scale2x drrn-lite espcn7 CARD.yaml ...]
        [--weights MODEL=FILE.safetensors ...] [--json OUT.json] [--write-cards]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
import yaml
from PIL import Image

from zoo_core.api import get_card, load
from zoo_core.data.prepare import split_entries
from zoo_core.train.dataset import spread, to_rgb
from zoo_core.train.evaluate import _busiest_box, _ModelUpscale, evaluate_upscale
from zoo_core.weights.safetensors_io import atomic_write_bytes

SIDE, PER_PICTURE, DRAWINGS, BORDER = 192, 8, 48, 4
REAL_SOURCES = ("renpy-demo",)
COMMAND = ".venv/bin/python benchmarks/eval_corpus.py --write-cards"


def _grid_crops(img: Image.Image, n: int) -> list[Image.Image]:
    cells = [(x, y) for y in range(0, img.height - SIDE + 1, SIDE) for x in range(0, img.width - SIDE + 1, SIDE)]
    picked = [cells[(i * len(cells)) // min(n, len(cells))] for i in range(min(n, len(cells)))]
    return [img.crop((x, y, x + SIDE, y + SIDE)) for x, y in picked]


def crop_sets(corpus: str, root: Path) -> dict[str, Path]:
    """Write the two crop folders under root; returns {'real art': folder, 'drawings': folder}."""
    entries = split_entries(corpus, "val")
    real, drawings = root / "real", root / "drawings"
    real.mkdir()
    drawings.mkdir()
    for f in sorted(p for p, pkg in entries if pkg in REAL_SOURCES):
        with Image.open(f) as im:
            for i, crop in enumerate(_grid_crops(to_rgb(im), PER_PICTURE)):
                crop.save(real / f"{f.stem}-{i}.png")
    for f in spread([p for p, pkg in entries if pkg not in REAL_SOURCES], DRAWINGS):
        with Image.open(f) as im:
            img = to_rgb(im)
        if min(img.size) >= SIDE:
            img.crop(_busiest_box(img, SIDE, 2)).save(drawings / f"{f.stem}.png")
    return {"real art": real, "drawings": drawings}


def evaluate(model: str, weights: str | None, sets: dict[str, Path]) -> dict[str, dict]:
    """{set: zoo eval report} for one model."""
    with torch.inference_mode():
        upscale = _ModelUpscale(load(model, weights=weights))
        return {name: evaluate_upscale(upscale, folder, border=BORDER, name=model) for name, folder in sets.items()}


def metric(corpus: str, name: str, report: dict, n: int) -> dict:
    """One card metric: the model's mean PSNR-Y, bicubic's, and the gain."""
    m = report["mean"]
    return {"name": f"PSNR-Y 2x (dB), corpus validation, {name}", "value": round(m["model"]["psnr_y"], 3),
            "bicubic": round(m["bicubic"]["psnr_y"], 3),
            "gain_db": round(m["model"]["psnr_y"] - m["bicubic"]["psnr_y"], 3),
            "dataset": f"{n} {SIDE}px crops of the '{corpus}' val split ({name}); never trained on",
            "protocol": f"HR shrunk 2x by PIL bicubic; PSNR on Y (BT.601, 16-235) of 8-bit outputs, {BORDER} px border",
            "command": COMMAND}


def write_card(model: str, metrics: dict[str, dict]) -> None:
    """Store the metrics in the model's installed card file (only trained-by-zoo cards)."""
    card = get_card(model)
    if "trained-by-zoo" not in (card.tags or []):
        return
    path = Path(card.source)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("metrics", {}).update(metrics)
    atomic_write_bytes(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode())
    print(f"wrote metrics into {path}", file=sys.stderr)


def main() -> None:
    """Print a markdown table of gains over bicubic per model and set."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="debian-art")
    ap.add_argument("--models", nargs="+", default=["upconv7-scale2x", "drrn-lite", "espcn7"])
    ap.add_argument("--weights", action="append", default=[], metavar="MODEL=FILE")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--write-cards", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = dict(w.split("=", 1) for w in args.weights)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = crop_sets(args.corpus, Path(tmp))
        counts = {k: len(list(v.iterdir())) for k, v in sets.items()}
        print(f"| model | {' | '.join(f'{k} ({counts[k]} crops): model / bicubic / gain' for k in sets)} |")
        print("|---|" + "---:|" * len(sets), flush=True)
        for model in args.models:
            reports = evaluate(model, weights.get(model), sets)
            results[model] = {k: metric(args.corpus, k, r, counts[k]) for k, r in reports.items()}
            cells = [f"{m['value']:.2f} / {m['bicubic']:.2f} / **{m['gain_db']:+.2f}**" for m in results[model].values()]
            print(f"| {model} | {' | '.join(cells)} |", flush=True)
            if args.write_cards and model not in weights:
                write_card(model, {f"psnr_y_2x_{args.corpus.replace('-', '_')}_val_{k.replace(' ', '_')}": m
                                   for k, m in results[model].items()})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
