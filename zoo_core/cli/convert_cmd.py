"""`zoo convert`: foreign weights → deterministic safetensors."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..weights.convert import convert_file


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach convert."""
    p = sub.add_parser("convert", help="convert ncnn/json/onnx weights to safetensors")
    p.add_argument("--arch", required=True, help="architecture id, e.g. upconv7")
    p.add_argument("--format", required=True, dest="fmt", help="weight format, e.g. ncnn, json, onnx")
    p.add_argument("inputs", nargs="+", type=Path, help="source file(s), e.g. MODEL.param MODEL.bin")
    p.add_argument("-o", "--output", required=True, type=Path, help="the .safetensors file to write")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert and print the output's sha256."""
    digest = convert_file(args.arch, args.fmt, args.inputs, args.output)
    print(f"{args.output}  sha256 {digest}")
    return 0
