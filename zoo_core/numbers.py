"""One validator for every number a user gives (flags, env vars, card fields, web form fields).

Errors name the field, the value and the allowed range: `--tile must be an integer from 8 to 65536, got 'x'.`
"""
from __future__ import annotations

import math
import os
from typing import Any

from .errors import ZooError

MAX_DIGITS = 30  # longer numerals are refused before int() (Python's own limit is 4300 digits)


class NumberError(ZooError):
    """A number from a user is not a number of the right kind, or is out of range."""


def _describe(kind: type, lo: float | None, hi: float | None) -> str:
    noun = "an integer" if kind is int else "a number"
    if lo is not None and hi is not None:
        return f"{noun} from {lo:g} to {hi:g}"
    if lo is not None:
        return f"{noun} of at least {lo:g}"
    return f"{noun} of at most {hi:g}" if hi is not None else noun


def _parse(value: Any, kind: type) -> int | float | None:
    """The value as `kind`, or None when it is not one (bools, NaN, infinities, huge numerals included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if not text or len(text) > MAX_DIGITS:
            return None
        try:
            value = int(text) if kind is int else float(text)
        except ValueError:
            try:  # "1e6" as an integer is fine when it is whole
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if kind is int:
            return int(value) if value.is_integer() else None
        return value
    if isinstance(value, int):
        return value if kind is int else float(value)
    return None


def number(field: str, value: Any, *, kind: type = int, lo: float | None = None, hi: float | None = None,
           hint: str = "", error: type[ZooError] = NumberError, text: bool = True) -> Any:
    """`value` (a str, int or float) as `kind` within [lo, hi]; `error` naming field, value and range.

    `text=False` refuses strings: a Python caller passing "64" has a bug to hear about.
    """
    got = None if isinstance(value, str) and not text else _parse(value, kind)
    if got is None or (lo is not None and got < lo) or (hi is not None and got > hi):
        shown = repr(value) if isinstance(value, str) else str(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        raise error(f"{field} must be {_describe(kind, lo, hi)}, got {shown}.{' ' + hint if hint else ''}")
    return got


def optional(field: str, value: Any, **kw: Any) -> Any:
    """`number(...)`, or None when the value is None (a setting left at its default)."""
    return None if value is None else number(field, value, **kw)


def env_number(name: str, default: Any, **kw: Any) -> Any:
    """An environment variable checked by `number`; the default when it is unset or blank."""
    raw = os.environ.get(name, "").strip()
    return default if not raw else number(name, raw, **kw)


def flag(name: str, *, kind: type = int, lo: float | None = None, hi: float | None = None) -> Any:
    """An argparse `type=` that checks a flag with `number` (argparse prints the message with the usage)."""
    import argparse

    def parse(text: str) -> Any:
        try:
            return number(name, text, kind=kind, lo=lo, hi=hi)
        except ZooError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    parse.__name__ = "integer" if kind is int else "number"
    return parse


# Ranges shared by the CLI flags, zoo.load() and the web page, so that each says the same thing.
TILE = {"lo": 8, "hi": 65536}  # the tiler's smallest tile (infer/tiler.py MIN_TILE): smaller ones are all context
