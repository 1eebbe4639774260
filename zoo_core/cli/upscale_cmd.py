"""`zoo upscale`: files or folders in, upscaled images out (atomic writes, one bad file never stops the rest)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..api import load
from ..errors import ZooError
from ..infer.imageio import read_image, save_image

DEFAULT_MODEL = "upconv7-scale2x"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach upscale."""
    p = sub.add_parser("upscale", help="upscale images with a model")
    p.add_argument("inputs", nargs="*", type=Path, metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", type=Path, required=True, help="output file (one input) or folder")
    p.add_argument("-m", "--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument("--weights", type=Path, help="local safetensors overriding the card's weights")
    p.add_argument("--tile", type=int, default=None, help="tile size in input pixels (default 256)")
    p.add_argument("--batch", type=int, default=1, help="tiles per batch")
    p.add_argument("--tta", action="store_true", help="8-way flip/transpose ensemble")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--precision", default="fp32", help="fp32 (exact), bf16 or fp16")
    p.add_argument("--backend", default=None, help="inference backend (default torch)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--demo", action="store_true", help="upscale a built-in generated image (no input needed)")
    p.set_defaults(func=cmd_upscale)


def collect(inputs: list[Path]) -> list[Path]:
    """Expand folders into their image files, in a stable order."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(item)
    return files


def plan(files: list[Path], output: Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs: one file may go to a file path; several go into a folder."""
    if len(files) == 1 and output.suffix and not output.is_dir():
        return [(files[0], output)]
    return [(f, output / f"{f.stem}.png") for f in files]


def cmd_upscale(args: argparse.Namespace) -> int:
    """Upscale each input; print one line per failure; exit 1 if any failed."""
    if args.demo:
        from ..infer.demo import demo_image

        src = args.output.with_name(args.output.stem + "-input.png")
        save_image(demo_image(), src)
        args.inputs = [src]
    files = collect(args.inputs)
    if not files:
        raise ZooError("No input images given. Pass image files or folders, or --demo.")
    up = load(args.model, weights=args.weights, device=args.device, precision=args.precision,
              backend=args.backend, tile_size=args.tile, batch_size=args.batch)
    failed = 0
    for src, dst in plan(files, args.output):
        try:
            if dst.exists() and not args.overwrite:
                raise ZooError(f"{dst}: exists; pass --overwrite to replace it.")
            if dst.resolve() == src.resolve():
                raise ZooError(f"{dst}: would overwrite its own input; choose another output.")
            save_image(up.upscale(read_image(src), tta=args.tta), dst)
            print(f"{src} -> {dst}")
        except ZooError as err:
            print(f"zoo: error: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
