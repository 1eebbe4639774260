"""`zoo serve`: the local web page (see docs/serve.md)."""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import ZooError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach serve."""
    cpus = os.cpu_count() or 1
    p = sub.add_parser("serve", help="a local web page: drop an image, compare before/after, download")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload in MB (default 20)")
    p.add_argument("--max-pixels", type=int, default=4_000_000, help="largest input in pixels (default 4000000)")
    p.add_argument("--max-output-pixels", type=int, default=64_000_000,
                   help="largest result in pixels (default 64000000)")
    p.add_argument("--jobs", type=int, default=cpus, help=f"images upscaled at once (default: one per CPU, {cpus})")
    p.add_argument("--queue", type=int, default=32, help="images that may wait for a free worker (default 32)")
    p.add_argument("--test-models", action="store_true", help="also offer models tagged 'test-only' on the page")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the flags, then serve until Ctrl-C."""
    from ..numbers import number

    args.max_upload_mb = number("--max-upload-mb", args.max_upload_mb, kind=float, lo=0.001, hi=100_000)
    for flag, name, hi in (("--max-pixels", "max_pixels", 10**12), ("--max-output-pixels", "max_output_pixels", 10**12),
                           ("--jobs", "jobs", 1024), ("--queue", "queue", 100_000)):
        setattr(args, name, number(flag, getattr(args, name), lo=1, hi=hi))
    if not 0 <= args.port <= 65535:
        raise ZooError(f"--port must be between 0 and 65535, got {args.port}.")
    try:
        from ..serve.app import LOOPBACK
        from ..serve.jobs import Limits
        from ..serve.server import serve_forever
    except ImportError as exc:
        raise ZooError(f"zoo serve needs its web dependencies ({exc.name} is missing): "
                       f"pip install 'zoo-core[serve]'.") from None
    cpus = os.cpu_count() or 1
    limits = Limits(max_bytes=int(args.max_upload_mb * 1024 * 1024), max_pixels=args.max_pixels,
                    max_output_pixels=args.max_output_pixels, jobs=args.jobs, max_queue=args.queue,
                    threads=max(1, cpus // args.jobs), test_models=args.test_models)  # one job per CPU: each job gets its share of threads
    if args.host not in LOOPBACK:
        print(f"zoo serve: warning: listening on {args.host}: anyone who can reach this machine can use it "
              f"(there is no login).", file=sys.stderr)
    serve_forever(args.host, args.port, limits)
    return 0
