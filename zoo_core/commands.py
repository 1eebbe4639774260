"""`zoo NAME` sub-commands as registered objects: plugins add theirs with the `register_commands` hook."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from .errors import PluginError

NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
Run = Callable[[argparse.Namespace], "int | None"]
Arguments = Callable[[argparse.ArgumentParser], None]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without options."""


@dataclass(frozen=True, kw_only=True)
class Command:
    """A sub-command: `arguments(parser)` declares its options, `run(args)` returns the exit code.

    Raise a ZooError for anything a user got wrong: the CLI prints it as one line and exits 1.
    `run` may be None when `arguments` itself sets `func` (commands with their own sub-commands).
    """

    name: str
    help: str
    run: Run | None = None
    arguments: Arguments = _no_arguments
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise PluginError(f"Command name {self.name!r} must be lowercase letters, digits and '-', "
                              "starting with a letter (e.g. 'mycmd').")
        if self.run is not None and not callable(self.run) or not callable(self.arguments):
            raise PluginError(f"Command '{self.name}': run and arguments must be callables "
                              "(run(args) -> int, arguments(parser) -> None).")

    def attach(self, sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
        """Add this command's parser to the `zoo` parser's sub-commands."""
        parser = sub.add_parser(self.name, help=self.help, description=self.description)
        if self.run is not None:
            parser.set_defaults(func=self.run)
        self.arguments(parser)
        return parser


class _Recorder:
    """Stands in for argparse's sub-parser action: notes each name and help, and hands out one real parser."""

    def __init__(self, wanted: str | None = None, real: argparse.ArgumentParser | None = None) -> None:
        self.wanted, self.real = wanted, real
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        self.seen.append((name, kwargs))
        if name == self.wanted and self.real is not None:
            if kwargs.get("description"):
                self.real.description = kwargs["description"]
            return self.real
        return argparse.ArgumentParser(prog=name, add_help=False)


def module_commands(module: ModuleType) -> list[Command]:
    """The commands a module's `add_parsers(sub)` attaches, as Command objects (how the built-ins register)."""
    probe = _Recorder()
    module.add_parsers(probe)
    return [
        Command(name=name, help=str(kwargs.get("help") or ""), description=kwargs.get("description"),
                arguments=lambda parser, n=name: module.add_parsers(_Recorder(n, parser)))
        for name, kwargs in probe.seen
    ]
