"""`zoo fetch`: download (or rebuild) and verify weights."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..api import fetch
from ..errors import ZooError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach fetch."""
    p = sub.add_parser("fetch", help="download and verify model weights (Hub, or rebuilt from upstream)")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--upstream", type=Path, help="folder holding the original files, for an offline rebuild")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fetch)


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch each model; report every failure, exit 1 if any failed."""
    failed = 0
    for name in args.names:
        try:
            path = fetch(name, upstream_dir=args.upstream, progress=not args.quiet)
            print(f"{name}: {path}")
        except ZooError as err:
            print(f"zoo: error: {err}")
            failed += 1
    return 1 if failed else 0
