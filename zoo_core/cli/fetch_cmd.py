"""`zoo fetch`: download (or rebuild) and verify weights."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..api import get_card, list_models, locate_weights
from ..cards import Card
from ..errors import UnknownNameError, ZooError, one_line


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach fetch."""
    p = sub.add_parser(
        "fetch", help="download and verify model weights (Hub, or rebuilt from upstream)",
        description="Download each model's weights from the Hugging Face Hub (honours HF_ENDPOINT, HF_HUB_OFFLINE, "
        "HF_TOKEN, HF_HOME; ZOO_HUB_REPO=ORG/NAME[@REV] redirects to a fork) and check their sha256; if the Hub "
        "cannot give them, rebuild them from the original files (installed package or --upstream DIR).",
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="model names or globs ('upconv7-*')")
    p.add_argument("--upstream", type=Path, help="folder holding the original files, for an offline rebuild")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fetch)


def cards_named(names: list[str]) -> list[Card]:
    """Cards for names or globs, in order, each once."""
    cards: list[Card] = []
    for name in names:
        if any(ch in name for ch in "*?["):
            matched = list_models(name)
            if not matched:
                raise UnknownNameError(f"No model matches '{name}'. Run 'zoo list'.")
            cards += matched
        else:
            cards.append(get_card(name))
    return list({c.name: c for c in cards}.values())


def _warn(message: str) -> None:
    print(f"zoo: warning: {one_line(message)}", file=sys.stderr)  # a setting cannot forge a line


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch each model; report every failure on one line; exit 1 if any failed."""
    if args.upstream is not None and not os.path.isdir(args.upstream):
        raise ZooError(f"--upstream '{args.upstream}' is not a folder. Give the folder holding the original files.")
    failed = 0
    for card in cards_named(args.names):
        try:
            path, how = locate_weights(card, upstream_dir=args.upstream, progress=not args.quiet, notify=_warn)
            print(f"{card.name}: {path} ({how}, sha256 {card.weights['sha256'][:16]}… verified)")
        except ZooError as err:
            print(f"zoo: error: {one_line(str(err))}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
