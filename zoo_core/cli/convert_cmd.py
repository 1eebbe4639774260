"""`zoo convert`: foreign weights → deterministic safetensors."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ZooError
from ..api import convert_file


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach convert."""
    p = sub.add_parser("convert", help="convert ncnn/json/onnx weights to safetensors")
    p.add_argument("--arch", required=True, help="architecture id, e.g. upconv7")
    p.add_argument("--format", required=True, dest="fmt", help="weight format, e.g. ncnn, json, onnx")
    p.add_argument("inputs", nargs="+", type=Path, help="source file(s), e.g. MODEL.param MODEL.bin")
    p.add_argument("--hyperparameters", default=None, metavar="JSON",
                   help='the architecture\'s hyperparameters as a JSON object, e.g. \'{"scale": 2}\' (default: its defaults)')
    p.add_argument("-o", "--output", required=True, type=Path, help="the .safetensors file to write")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert and print the output's sha256."""
    hp = None
    if args.hyperparameters:
        try:
            hp = json.loads(args.hyperparameters)
        except json.JSONDecodeError:
            hp = None
        if not isinstance(hp, dict):
            raise ZooError(f"--hyperparameters must be a JSON object such as '{{\"scale\": 2}}', got {args.hyperparameters!r}.")
    digest = convert_file(args.arch, args.fmt, args.inputs, args.output, hp)
    print(f"{args.output}  sha256 {digest}")
    return 0
