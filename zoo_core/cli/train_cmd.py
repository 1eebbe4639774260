"""`zoo train CONFIG.yaml` and `zoo eval MODEL DIR`."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..numbers import flag


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach train and eval."""
    p = sub.add_parser("train", help="train any registered architecture from a YAML config")
    p.add_argument("config", type=Path, metavar="CONFIG.yaml")
    p.add_argument("--steps", type=int, help="override optim.steps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set optim.lr=5e-4 (YAML value)")
    p.add_argument("--no-resume", action="store_true", help="start from scratch even if run_dir has checkpoints")
    p.add_argument("--export-only", action="store_true", help="export the newest checkpoint as card + weights")
    p.add_argument("--install", action="store_true",
                   help="export into the config's export.weights/export.card (e.g. a plugin's folder) instead of "
                        "RUN_DIR/export")
    p.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="PSNR/SSIM of a model vs bicubic and Lanczos on a folder of HR images")
    e.add_argument("model", metavar="MODEL", help="card name or architecture id")
    e.add_argument("dir", type=Path, metavar="DIR", help="folder of HR images (PNG/JPEG)")
    e.add_argument("--weights", type=Path, help="a .safetensors file to use instead of the card's weights")
    e.add_argument("--border", type=flag("--border", lo=0, hi=4096), help="pixels excluded per side (default: the scale)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--grid", type=Path, metavar="OUT.png", help="write a side-by-side comparison picture")
    e.add_argument("--threads", type=flag("--threads", lo=1, hi=4096), help="torch threads")
    e.set_defaults(func=cmd_eval)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE, got '{item}'.")
        from ..train.guard import read_yaml

        key, value = item.split("=", 1)
        out[key.strip()] = read_yaml(value, f"--set {key.strip()}")
    if args.steps is not None:
        out["optim.steps"] = args.steps
    return out


def cmd_train(args: argparse.Namespace) -> int:
    """Train (resuming by default), then export card + weights if the config says where."""
    from ..train.run import Stopped, export_latest, run

    from ..train.config import load_config

    cfg = load_config(args.config, _overrides(args))
    # The card records how to reproduce the weights: the training command, not the export step.
    argv = [a for a in sys.argv[1:] if a not in ("--export-only", "--install")]
    command = "zoo " + " ".join(shlex.quote(a) for a in argv) if argv else None
    try:
        if args.export_only:
            weights, card = export_latest(cfg, command=command, install=args.install)
        else:
            weights, card = run(cfg, resume=not args.no_resume, command=command, install=args.install)
    except Stopped as stop:
        print(f"zoo: {stop}", file=sys.stderr)
        return stop.code
    except OSError as exc:  # run_dir not creatable or writable, disk full: one line naming the path
        from ..atomic import fs_reason

        raise ConfigError(f"{exc.filename or args.config}: {fs_reason(exc)} Check run_dir (and export paths) in "
                          f"{args.config}: zoo train writes checkpoints and exports there.") from None
    if weights:
        print(f"weights: {weights}" + (f"\ncard: {card}" if card else ""))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate and print a table (or JSON)."""
    from ..infer.imageio import quiet_pillow
    from ..train.evaluate import evaluate_folder, format_table

    quiet_pillow()

    report = evaluate_folder(args.model, args.dir, weights=args.weights, border=args.border, threads=args.threads,
                             grid=args.grid)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    if args.grid and not args.json:
        print(f"grid: {args.grid}")
    for line in report.get("skipped", []):  # scored without them; the exit status says so
        print(f"zoo: error: {line} (left out of the scores)", file=sys.stderr)
    return 1 if report.get("skipped") else 0
