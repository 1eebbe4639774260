"""Side-by-side pictures, one row per card family, on a held-out Ren'Py illustration of the corpus (Expat).

Each row: the LR input (nearest), bicubic, the card's output at its native scale, the original; a 96 px HR
crop of the most detailed part of `renpy-lucy_happy.png` (debian-art validation split, never trained on),
enlarged 2x with nearest. PSNR hides what GAN-trained models do; this shows it.

    .venv/bin/zoo data prepare
    .venv/bin/python benchmarks/family_pictures.py [--cards ...] [--out docs/families.jpg]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image

from zoo_core.api import load
from zoo_core.data.prepare import split_entries
from zoo_core.train.dataset import to_rgb
from zoo_core.train.evaluate import _busiest_box, _ModelUpscale, grid_image

CARDS = ["upconv7-scale2x", "drrn-lite", "espcn7", "vgg7-scale2x", "cunet-scale2x", "realcugan-se-2x",
         "realesrgan-animevideov3-2x", "realcugan-se-4x", "realesrgan-animevideov3-4x", "realesrgan-x4plus-anime"]
PICTURE, SIDE = "renpy-lucy_happy.png", 192  # the crop every card gets (divides by 2, 3, 4)


def source_crop(corpus: str, folder: Path) -> Path:
    """The most detailed 192 px crop of the chosen validation picture, saved into `folder`."""
    path = next(p for p, _ in split_entries(corpus, "val") if p.name == PICTURE)
    with Image.open(path) as im:
        img = to_rgb(im)
    out = folder / PICTURE
    img.crop(_busiest_box(img, SIDE, 12)).save(out)
    return out


def main() -> None:
    """Stack one labelled grid row per card and save it as a JPEG."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="debian-art")
    ap.add_argument("--cards", nargs="+", default=CARDS)
    ap.add_argument("--out", type=Path, default=Path("docs/families.jpg"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        source_crop(args.corpus, Path(tmp))
        for card in args.cards:
            print(card, flush=True)
            upscale = _ModelUpscale(load(card))
            rows.append(grid_image(upscale, Path(tmp), side=96, zoom=2, max_images=1,
                                   model_label=f"{card} ({upscale.scale}x)"))
    sheet = Image.new("RGB", (rows[0].width, sum(r.height + 6 for r in rows)), (255, 255, 255))
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height + 6
    sheet.save(args.out, quality=92)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
