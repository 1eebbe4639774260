"""A builder's keyword-only parameters, read from its signature: a plugin writes its hyperparameters once.

A "module:function" builder is read from its source with `ast` (the module is found, not imported), so
registering an architecture and `zoo list` never load torch.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ZooError


@dataclass(frozen=True)
class BuilderParams:
    """What a builder's signature says about its hyperparameters."""

    defaults: dict[str, Any] = field(default_factory=dict)  # keyword-only parameters with a (literal) default
    required: tuple[str, ...] = ()  # keyword-only parameters without a default
    opaque: tuple[str, ...] = ()  # defaults that are not literals (source only): unknown without importing
    positional: tuple[str, ...] = ()  # parameters a caller could pass by position (not allowed)
    any_keyword: bool = False  # **kwargs: any hyperparameter name is accepted

    def names(self) -> set[str]:
        """Every keyword-only parameter name."""
        return set(self.defaults) | set(self.required) | set(self.opaque)


def from_callable(build: Callable[..., Any]) -> BuilderParams | None:
    """The parameters of an imported builder (None when Python cannot tell its signature)."""
    try:
        sig = inspect.signature(build)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.name != "self"]
    kw = [p for p in params if p.kind == p.KEYWORD_ONLY]
    return BuilderParams(
        defaults={p.name: p.default for p in kw if p.default is not p.empty},
        required=tuple(p.name for p in kw if p.default is p.empty),
        positional=tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)),
        any_keyword=any(p.kind == p.VAR_KEYWORD for p in params),
    )


def from_source(arch_id: str, target: str) -> BuilderParams | None:
    """The parameters of a "module:function" builder read from its source; None if it is not a plain def."""
    module, _, name = target.partition(":")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise ZooError(f"Architecture '{arch_id}': build {target!r}: module '{module}' cannot be found ({exc}). "
                       "Expected 'package.module:function'; fix the string or install the plugin.") from None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        if spec is None:
            raise ZooError(f"Architecture '{arch_id}': build {target!r}: no module '{module}' is installed. "
                           "Expected 'package.module:function'; fix the string or install the plugin.")
        return None  # compiled or namespace: only importing it can tell
    return _parsed(spec.origin, Path(spec.origin).stat().st_mtime_ns, name)


@functools.lru_cache(maxsize=64)
def _parsed(path: str, _mtime: int, name: str) -> BuilderParams | None:
    """The top-level `def name` of the file at `path` (cached: one parse per file and edit)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    found = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    return _from_def(found[-1]) if found else None


def _from_def(node: ast.FunctionDef | ast.AsyncFunctionDef) -> BuilderParams:
    args = node.args
    defaults: dict[str, Any] = {}
    required, opaque = [], []
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        if default is None:
            required.append(arg.arg)
            continue
        try:
            defaults[arg.arg] = ast.literal_eval(default)
        except ValueError:  # e.g. a name or a call: its value is only known by importing the module
            opaque.append(arg.arg)
    return BuilderParams(defaults=defaults, required=tuple(required), opaque=tuple(opaque),
                         positional=tuple(a.arg for a in args.posonlyargs + args.args if a.arg != "self"),
                         any_keyword=args.kwarg is not None)


def check_params(arch_id: str, target: str, params: BuilderParams, given: dict[str, Any] | None) -> None:
    """The builder against the architecture: keyword-only, and `given` hyperparameters (or its defaults) usable."""
    where = f"Architecture '{arch_id}': builder {target}"
    if params.positional:
        raise ZooError(f"{where} takes {list(params.positional)} by position; hyperparameters must be keyword-only "
                       "(put a '*' first in the signature: def build(*, ...)).")
    if given is None:
        for name in params.required:
            raise ZooError(f"{where}: parameter '{name}' has no default, expected one (its default hyperparameter). "
                           f"Fix: def build(*, {name}=VALUE, ...).")
        for name in params.opaque:
            raise ZooError(f"{where}: the default of parameter '{name}' is not a literal (number, string, bool, None, "
                           f"tuple), so it cannot be read without importing torch. Fix: write it as a literal.")
        return
    unknown = sorted(set(given) - params.names()) if not params.any_keyword else []
    absent = sorted(params.names() - set(given))
    if unknown or absent:
        raise ZooError(f"{where} takes {sorted(params.names())} but the architecture declares hyperparameters "
                       f"{sorted(given)}{' (not in the builder: ' + ', '.join(unknown) + ')' if unknown else ''}"
                       f"{' (not declared: ' + ', '.join(absent) + ')' if absent else ''}. "
                       "Fix: drop hyperparameters= (the builder's keyword defaults are used) or make the names agree.")
