"""The `zoo` command: a thin face over the public API. Each sub-command lives in its own module."""
from __future__ import annotations

import argparse
import sys
import warnings
from types import ModuleType

from ..errors import ZooError


def _commands() -> list[ModuleType]:
    from . import convert_cmd, fetch_cmd, info_cmd, upscale_cmd, serve_cmd
    from . import push_cmd
    from . import train_cmd

    return [info_cmd, fetch_cmd, convert_cmd, push_cmd, upscale_cmd, serve_cmd, train_cmd]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command attached."""
    parser = argparse.ArgumentParser(prog="zoo", description="Anime-style super-resolution model zoo.")
    from zoo_core import __version__

    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _commands():
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs one command, prints a ZooError as one line and returns 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    try:
        return int(args.func(args) or 0)
    except ZooError as err:
        print(f"zoo: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zoo: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
