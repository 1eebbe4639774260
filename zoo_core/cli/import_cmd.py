"""`zoo import FILE`: a community model (.pth / .safetensors) recognised and stored as a card with safetensors."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach import."""
    p = sub.add_parser(
        "import", help="recognise a community model file (.pth, .safetensors) and add it as a card",
        description="Reads the file once (a .pth through a restricted unpickler that rebuilds only tensors), asks the "
        "installed plugins which architecture and hyperparameters its tensors are, and writes "
        "$ZOO_HOME/imported/NAME.safetensors (sha256 in the card) and NAME.yaml. Then 'zoo upscale -m NAME' runs it "
        "like any card. See docs/import.md.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the model file as downloaded (.pth, .pt, .ckpt, .safetensors)")
    p.add_argument("--name", help="card name (default: from the file name)")
    p.add_argument("--license", metavar="SPDX", help="the model's licence as its author gives it (default: unknown)")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    """Import one file and say what it became."""
    from ..importer import UNKNOWN_LICENSE, import_model
    from ..registry import get_registry

    done = import_model(args.file, name=args.name, license=args.license)
    card = done.card
    if done.existed:
        print(f"'{args.file}' is already imported as '{card.name}' (same sha256); nothing changed.")
        return 0
    arch = get_registry().architecture(card.architecture)
    geo = arch.geometry(card.hyperparameters)
    hp = ", ".join(f"{k}={v}" for k, v in sorted(card.hyperparameters.items()))
    print(f"imported '{card.name}': {card.architecture} ({done.layout}), {card.scale}x, {hp}")
    print(f"  weights {card.weights['file']} sha256 {card.weights['sha256'][:16]}…, in {Path(card.source).parent}")
    checks = done.checks or {}
    field = (f"receptive field measured {checks['context_measured']}" if "context_measured" in checks
             else checks.get("context_note", "receptive field not measured"))
    print(f"  tiling: exact, {geo.context} input px of context per side ({field})"
          + (f"; sides padded to a multiple of {geo.size_multiple} and cropped back" if geo.size_multiple > 1 else ""))
    print(f"  backend: {checks.get('backend', '?')} ({checks.get('backend_why', '')})")
    for note in done.notes:
        print(f"  note: {note}")
    if card.license == UNKNOWN_LICENSE:
        print("  licence: unknown (give --license SPDX when the author states one; check it before sharing outputs)")
    else:
        print(f"  licence: {card.license}")
    print(f"run it: zoo upscale IMAGE -m {card.name}")
    return 0
