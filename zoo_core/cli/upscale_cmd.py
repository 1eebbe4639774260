"""`zoo upscale INPUT... -o OUT`: files, folders, globs and lists in; atomic outputs; one bad file never stops the rest."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ZooError, one_line


from ..numbers import TILE, flag


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach upscale."""
    p = sub.add_parser("upscale", help="upscale images and videos with a model",
                       description="Upscale image and video files, folders (-r: recursive), globs and .txt lists of "
                       "paths (videos: docs/video.md).")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image or video files, folders, globs or .txt lists")
    p.add_argument("-o", "--output", type=Path, required=True, help="output file (one input) or folder")
    p.add_argument("-m", "--model", default=None, help="model name or card file CARD.yaml "
                   "(default: the card an installed plugin marks 'default: true', see 'zoo info')")
    p.add_argument("-n", "--noise", type=int, default=None, help="noise level (-1: none): picks the card of the "
                   "model's family with that task.noise_level (the levels are those installed: 'zoo list')")
    p.add_argument("--style", default=None, help="style (e.g. art, photo): picks the card of the model's family "
                   "with that task.style (default: the model's)")
    p.add_argument("-s", "--scale", type=flag("--scale", kind=float), default=None,
                   help="scale factor (default: the model's); 4, 8 by repeated passes, 1.5 or 3 by passes + downscale")
    p.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders (kept under OUT)")
    p.add_argument("--format", choices=("png", "webp", "jpeg", "jpg", "gif", "avif", "heic", "heif", "jxl"), default=None,
                   help="output format (default png; animations keep theirs)")
    p.add_argument("--quality", type=flag("--quality", lo=1, hi=100), default=95, help="JPEG/WebP/AVIF/HEIC/JPEG XL quality 1..100 (default 95; 100: lossless where the format has it)")
    p.add_argument("--weights", type=Path, help="local safetensors overriding the card's weights")
    p.add_argument("--tile", type=flag("--tile", **TILE), default=None, help="largest tile side in input pixels "
                   "(default 256 on CPU, 512 on GPU); tiling never changes the result")
    p.add_argument("--batch", type=flag("--batch", lo=1, hi=4096), default=None, help="tiles per batch (default: the backend's preference, e.g. 2 for ncnn on CPU, 4 on GPU)")
    p.add_argument("--tta", action="store_true", help="8-way flip/transpose ensemble (8× slower)")
    p.add_argument("--device", default="auto", help="auto (default: cuda if available), cpu, cuda or cuda:N")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                   help="fp32 (default, exact) or reduced bf16/fp16 (faster, see docs/precision.md)")
    p.add_argument("--backend", default=None, help="inference backend (default: ncnn on CPU fp32 where the model exports, else torch; 'torch' forces the reference)")
    p.add_argument("--threads", type=flag("--threads", lo=1, hi=4096), default=None, help="CPU threads (default: all)")
    p.add_argument("--max-pixels", type=flag("--max-pixels", lo=1, hi=10**12), default=None,
                   help="refuse inputs with more decoded pixels (default $ZOO_MAX_PIXELS or 100000000)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--resume", action="store_true", help="skip outputs that already exist (finish an interrupted run)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no per-file lines")
    p.add_argument("--demo", action="store_true", help="upscale a built-in generated image (no input needed)")
    from .video_args import add_video_arguments

    add_video_arguments(p)
    p.set_defaults(func=cmd_upscale)


def _models(args: argparse.Namespace, device: str):  # -> (first, rest, scale)
    from ..api import default_model, get_card, list_models, load
    from ..infer.scaling import plan_cards

    base = get_card(args.model) if args.model else default_model()
    scale = float(base.scale if args.scale is None else args.scale)  # -s 0 is refused, not the default
    if base.scale <= 1 and scale != 1:
        raise ZooError(f"Model '{base.name}' does not enlarge (scale 1); use -s 1 or pick an upscaling model.")
    chosen = plan_cards(list_models(), base, noise=args.noise, style=args.style, scale=scale)
    kw = dict(weights=args.weights, device=device, precision=args.precision, backend=args.backend,
              tile_size=args.tile, batch_size=args.batch, threads=args.threads)
    # A card file is loaded from the file (its own weights and sha256, even under a shipped name), not by name.
    from_file = bool(args.model) and args.model.endswith((".yaml", ".yml")) and chosen.first is base
    first = load(args.model if from_file else chosen.first.name, **kw)  # type: ignore[arg-type]
    # --weights or a card file replaces one model: use that model for every pass
    # one pass (or one card for all) loads nothing more
    same = args.weights or from_file or chosen.passes == 1 or chosen.rest.name == chosen.first.name
    rest = first if same else load(chosen.rest.name, **kw)
    return first, rest, scale


def _demo_input(args: argparse.Namespace) -> None:
    from ..infer.demo import demo_image
    from ..infer.imageio import save_image

    out = args.output if args.output.suffix else args.output / "demo.png"
    src = out.with_name(out.stem + "-input.png")
    if os.path.lexists(src) and not args.overwrite:  # the demo's own input must not replace a user's file
        raise ZooError(f"{one_line(str(src))}: already exists and --demo would write its input there; "
                       "pass --overwrite to replace it, or choose another -o.")
    save_image(demo_image(), src)
    args.inputs = [str(src)]


def cmd_upscale(args: argparse.Namespace) -> int:
    """Upscale each input; print one line per failure; exit 1 if any failed (in any process)."""
    from ..atomic import Terminated, interrupt_on_term
    from ..infer.imageio import quiet_pillow

    quiet_pillow()
    try:
        with interrupt_on_term():  # SIGTERM cleans up as Ctrl-C does: no .part left behind
            if args.demo:
                _demo_input(args)
            return _run(args)
    except KeyboardInterrupt as stop:
        print("zoo: interrupted; finished outputs are complete, none is partial. "
              "Run the same command with --resume to do the rest.", file=sys.stderr)
        return 128 + stop.signum if isinstance(stop, Terminated) else 130


def _run(args: argparse.Namespace) -> int:
    """Collect, pre-scan and process the inputs (this process's share of them under torchrun)."""
    from ..infer import shard
    from ..infer.batch import Options, run_jobs
    from ..infer.jobs import collect, plan, real
    from .video_args import video_options

    out_is_file = bool(args.output.suffix) and not os.path.isdir(args.output)
    items = collect(args.inputs, recursive=args.recursive, exclude=None if out_is_file else args.output)
    if not items:
        raise ZooError("No input images found. Pass image files, folders (-r for sub-folders), globs, "
                       ".txt lists, or --demo.")
    if len(items) > 1 and out_is_file:
        raise ZooError(f"{len(items)} inputs but -o {one_line(str(args.output))} looks like a file; give a folder.")
    jobs = plan(items, args.output, fmt=args.format, limit=args.max_pixels)
    me = shard.from_env()
    device = shard.device_for(args.device, me)
    group = shard.Group(me, "cpu" if device == "auto" else device)
    try:
        first, rest, scale = _models(args, device)
        opts = Options(scale=scale, tta=args.tta, tile=args.tile, quality=args.quality, max_pixels=args.max_pixels,
                       overwrite=args.overwrite, resume=args.resume, video=video_options(args), quiet=args.quiet)
        inputs = {real(it.src) for it in items}
        summary = run_jobs(shard.shard(jobs, me), first, rest, opts, inputs=inputs, quiet=args.quiet)
        failed = group.total(len(summary.failed))
    finally:
        group.close()
    if me.rank == 0 and failed:
        print(f"zoo: {failed} of {len(jobs)} file(s) failed (see above).", file=sys.stderr)
    return 1 if failed else 0
