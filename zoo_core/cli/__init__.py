"""The `zoo` command: a thin face over the public API. Each sub-command lives in its own module.

Every sub-command, built-in or a plugin's, is registered through the `register_commands` hook; the
built-in plugin registers the modules listed in `_commands()`.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from types import ModuleType

from ..commands import Command, module_commands
from ..errors import PluginError, ZooError, one_line
from ..plugins import BUILTINS, CONTAINED, failure


def _commands() -> list[ModuleType]:
    from . import convert_cmd, fetch_cmd, info_cmd, upscale_cmd, serve_cmd
    from . import push_cmd, import_cmd
    from . import train_cmd, data_cmd

    return [info_cmd, fetch_cmd, convert_cmd, import_cmd, push_cmd, upscale_cmd, serve_cmd, train_cmd, data_cmd]


def builtin_commands() -> list[Command]:
    """The built-in sub-commands, as the built-in plugin registers them."""
    return [command for module in _commands() for command in module_commands(module)]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command attached."""
    from ..registry import get_registry

    parser = argparse.ArgumentParser(prog="zoo", description="Anime-style super-resolution model zoo.")
    from zoo_core import __version__

    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    reg = get_registry()
    commands = dict(reg.commands)
    if not any(kind == "commands" and who == "builtins" for (kind, _), who in reg.owners.items()):
        for command in builtin_commands():  # the built-in plugin disabled or broken: keep the CLI usable
            commands[command.name] = command  # and never let a plugin's command take a built-in name
    for command in commands.values():
        try:
            command.attach(sub)
        except CONTAINED as exc:  # checked at registration; a second call that fails leaves a stub saying why
            why = f"Command '{command.name}' is broken ({failure(exc)}); run 'zoo plugins'."
            sub._name_parser_map[command.name] = _broken(command.name, why)
    return parser


def _broken(name: str, why: str) -> argparse.ArgumentParser:
    """A parser for a command whose plugin failed: running it prints why, as one line."""
    def run(args: argparse.Namespace) -> int:
        raise PluginError(why)

    parser = argparse.ArgumentParser(prog=f"zoo {name}", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)
    return parser


def _owner(args: argparse.Namespace) -> str | None:
    """The plugin that registered the command being run (None for zoo's own)."""
    from ..registry import get_registry

    owner = get_registry().owners.get(("commands", getattr(args, "command", "") or ""))
    return None if owner in (None, BUILTINS) else owner


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs one command, prints a ZooError as one line and returns 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    try:
        return int(args.func(args) or 0)
    except ZooError as err:
        print(f"zoo: error: {one_line(str(err))}", file=sys.stderr)  # a name cannot forge a line
        return 1
    except KeyboardInterrupt:
        print("zoo: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        plugin = _owner(args)
        if plugin is None:  # zoo's own bug: the traceback is what a report needs
            raise
        print(f"zoo: error: command '{args.command}' of plugin '{plugin}' failed: {one_line(failure(exc))}. "
              f"Report it to the plugin's author, or disable it with ZOO_DISABLE_PLUGINS={plugin}.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
