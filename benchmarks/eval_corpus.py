"""PSNR-Y gain over bicubic at each card's native scale on the validation split of a prepared corpus.

Never trained on (the split is by source picture, `zoo data prepare`); this is what checkpoints and settings
are chosen on. Two sets, scored separately:
- real art: 192 px HR crops spread over each Ren'Py demo validation illustration (8 per picture);
- drawings: the most detailed 192 px crop of 48 Open Clip Art validation renderings (spread over the list).
The corpus: debian-art unless --corpus. Protocol = `zoo eval`: HR shrunk by the card's scale (2x, 3x, 4x: 192 px
crops divide by each) with PIL bicubic, PSNR on Y (BT.601, 16-235) of 8-bit outputs, 4 px border.
With --noise N (denoising cards): the LR is made by the `waifu2x` degradation at noise_level N instead (random
shrink filter, mild blur, JPEG passes), seeded by the crop's name, so every model sees the same LR; bicubic
of that LR is the baseline. A 1x card (a denoiser) gets only the JPEG passes (no shrink, no blur: it is not a
deblurrer) and its baseline is that JPEG input itself; 1x cards need --noise.
--write-cards stores the figures in each named card's file (metrics survive plugins' make_cards.py); --note
adds a line to the dataset text (e.g. which waifu2x level stands for a card's own denoise level).

    .venv/bin/python benchmarks/eval_corpus.py [--models upconv7-scale2x drrn-lite espcn7 CARD.yaml ...]
        [--weights MODEL=FILE.safetensors ...] [--noise N] [--backend torch] [--json OUT.json]
        [--per-picture 8] [--drawings 48] [--write-cards [--note TEXT]]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path

import torch
import yaml
from PIL import Image

from zoo_core.api import get_card, load
from zoo_core.cardgen import write_card as write_card_file
from zoo_core.data.prepare import split_entries
from zoo_core.train.dataset import spread, to_rgb
from zoo_core.train.degradations import Waifu2xDegradation
from zoo_core.train.evaluate import Degrade, _busiest_box, _ModelUpscale, bicubic_shrink, evaluate_upscale

SIDE, PER_PICTURE, DRAWINGS, BORDER = 192, 8, 48, 4
REAL_SOURCES = ("renpy-demo",)
COMMAND = ".venv/bin/python benchmarks/eval_corpus.py --write-cards"


def _grid_crops(img: Image.Image, n: int) -> list[Image.Image]:
    cells = [(x, y) for y in range(0, img.height - SIDE + 1, SIDE) for x in range(0, img.width - SIDE + 1, SIDE)]
    picked = [cells[(i * len(cells)) // min(n, len(cells))] for i in range(min(n, len(cells)))]
    return [img.crop((x, y, x + SIDE, y + SIDE)) for x, y in picked]


def crop_sets(corpus: str, root: Path, per_picture: int = PER_PICTURE, drawings_n: int = DRAWINGS) -> dict[str, Path]:
    """Write the two crop folders under root; returns {'real art': folder, 'drawings': folder}."""
    entries = split_entries(corpus, "val")
    real, drawings = root / "real", root / "drawings"
    real.mkdir()
    drawings.mkdir()
    for f in sorted(p for p, pkg in entries if pkg in REAL_SOURCES):
        with Image.open(f) as im:
            for i, crop in enumerate(_grid_crops(to_rgb(im), per_picture)):
                crop.save(real / f"{f.stem}-{i}.png")
    for f in spread([p for p, pkg in entries if pkg not in REAL_SOURCES], drawings_n):
        with Image.open(f) as im:
            img = to_rgb(im)
        if min(img.size) >= SIDE:
            img.crop(_busiest_box(img, SIDE, 2)).save(drawings / f"{f.stem}.png")
    return {"real art": real, "drawings": drawings}


def degrader(noise: int | None) -> Degrade:
    """The LR maker: bicubic shrink, or the waifu2x degradation at `noise` (at 1x its JPEG passes), seeded by name."""
    if noise is None:
        return bicubic_shrink
    shrink = Waifu2xDegradation(noise_level=noise)
    jpeg_only = Waifu2xDegradation(noise_level=noise, blur_probability=0.0)  # same seed, same JPEG passes, no blur
    return lambda hr, scale, name: (jpeg_only if scale == 1 else shrink)(hr, scale=scale, seed=zlib.crc32(name.encode()))[0]


def evaluate(model: str, weights: str | None, sets: dict[str, Path], noise: int | None = None,
             backend: str | None = None) -> dict[str, dict]:
    """{set: zoo eval report} for one model (on `backend`, default: the card's preferred one)."""
    with torch.inference_mode():
        upscale = _ModelUpscale(load(model, weights=weights, backend=backend))
        if upscale.scale == 1 and noise is None:  # the "LR" would be the HR itself
            sys.exit(f"error: {model} is a 1x model (a denoiser); give --noise 0..3 to make its JPEG input.")
        return {name: evaluate_upscale(upscale, folder, border=BORDER, name=model, degrade=degrader(noise))
                for name, folder in sets.items()}


def _lr_text(scale: int, noise: int | None) -> str:
    if noise is None:
        return f"HR shrunk {scale}x by PIL bicubic"
    if scale == 1:
        return (f"input = HR through the JPEG passes of the waifu2x degradation at noise_level {noise} (no shrink, "
                f"no blur; seeded by crop name); the gain is over the JPEG input itself (no bicubic)")
    return f"LR by the waifu2x degradation at noise_level {noise} (seeded by crop name)"


def metric(corpus: str, name: str, report: dict, n: int, noise: int | None = None, model: str = "MODEL",
           note: str = "", flags: str = "") -> dict:
    """One card metric: the model's mean PSNR-Y, the baseline's (bicubic; at 1x the input), and the gain."""
    m, scale = report["mean"], report["scale"]
    base = "input" if scale == 1 else "bicubic"  # at 1x "bicubic" is the degraded input, unchanged
    return {"name": f"PSNR-Y {scale}x{'' if noise is None else f' noise {noise}'} (dB), corpus validation, {name}",
            "value": round(m["model"]["psnr_y"], 3), base: round(m["bicubic"]["psnr_y"], 3),
            "gain_db": round(m["model"]["psnr_y"] - m["bicubic"]["psnr_y"], 3),
            "dataset": f"{n} {SIDE}px crops of the '{corpus}' val split ({name}); never trained on" + (
                f"; {note}" if note else ""),
            "protocol": f"{_lr_text(scale, noise)}; PSNR on Y (BT.601, 16-235) of 8-bit outputs, {BORDER} px border",
            "command": f"{COMMAND} --threads 1{'' if noise is None else f' --noise {noise}'}{flags} --models {model}"}


def write_card(model: str, metrics: dict[str, dict]) -> None:
    """Store the metrics in the model's card file, everything else as it was (make_cards.py keeps metrics)."""
    path = Path(get_card(model).source)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("metrics", {}).update(metrics)
    write_card_file(path, data)  # validated, YAML as the plugins' make_cards.py write it
    print(f"wrote metrics into {path}", file=sys.stderr)


def _flags(args: argparse.Namespace) -> str:
    """The crop-count options that differ from the defaults, as command-line flags (for the metric's command)."""
    return "".join(f" --{k.replace('_', '-')} {v}" for k, v, d in
                   (("per_picture", args.per_picture, PER_PICTURE), ("drawings", args.drawings, DRAWINGS)) if v != d)


def _row(model: str, scale: int, metrics: dict[str, dict]) -> str:
    """One Markdown row: model / baseline / gain per set (the baseline is the JPEG input at 1x)."""
    base = "input" if scale == 1 else "bicubic"
    cells = [f"{m['value']:.2f} / {m[base]:.2f} / **{m['gain_db']:+.2f}**" for m in metrics.values()]
    label = f"{model} (1x: over the JPEG input)" if scale == 1 else model
    return f"| {label} | {' | '.join(cells)} |"


def main() -> None:
    """Print a markdown table of gains over bicubic per model and set."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="debian-art")
    ap.add_argument("--models", nargs="+", default=["upconv7-scale2x", "drrn-lite", "espcn7"])
    ap.add_argument("--weights", action="append", default=[], metavar="MODEL=FILE")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--backend", help="as zoo upscale --backend (figures do not depend on it)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--noise", type=int, choices=range(4), help="make LR with the waifu2x degradation at this level")
    ap.add_argument("--write-cards", action="store_true")
    ap.add_argument("--per-picture", type=int, default=PER_PICTURE, help="real-art crops per picture (fewer: faster)")
    ap.add_argument("--drawings", type=int, default=DRAWINGS, help="drawings crops (fewer: faster)")
    ap.add_argument("--note", default="", help="a line added to the metrics' dataset text (with --write-cards)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = dict(w.split("=", 1) for w in args.weights)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = crop_sets(args.corpus, Path(tmp), args.per_picture, args.drawings)
        counts = {k: len(list(v.iterdir())) for k, v in sets.items()}
        print(f"| model | {' | '.join(f'{k} ({counts[k]} crops): model / bicubic / gain' for k in sets)} |")
        print("|---|" + "---:|" * len(sets), flush=True)
        for model in args.models:
            reports = evaluate(model, weights.get(model), sets, args.noise, args.backend)
            scale = reports[next(iter(reports))]["scale"]
            results[model] = {k: metric(args.corpus, k, r, counts[k], args.noise, model, args.note, _flags(args))
                              for k, r in reports.items()}
            print(_row(model, scale, results[model]), flush=True)
            if args.write_cards and model not in weights:
                noise = "" if args.noise is None else f"_noise{args.noise}"
                write_card(model, {f"psnr_y_{scale}x{noise}_{args.corpus.replace('-', '_')}_val_{k.replace(' ', '_')}": m
                                   for k, m in results[model].items()})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
