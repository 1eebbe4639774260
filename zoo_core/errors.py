"""Every error a user can cause is a ZooError: the CLI prints str(err) once and exits 1."""
from __future__ import annotations


class ZooError(Exception):
    """Base class: the message says what was given, what was expected and the fix."""


class UnknownNameError(ZooError):
    """A model, architecture, degradation, loss, format or backend name that is not registered."""


class DuplicateNameError(ZooError):
    """Two plugins registered the same name."""


class CardError(ZooError):
    """A model card is malformed: names the file, the field and the fix."""


class PluginError(ZooError):
    """A plugin failed to import, raised in a hook or registered something of the wrong type."""


class WeightsError(ZooError):
    """Weights are missing, corrupt, of the wrong shape or in an unsafe format."""


class FetchError(WeightsError):
    """Weights could not be downloaded nor rebuilt from their upstream source."""


class ImageError(ZooError):
    """An input image could not be read, or an output could not be written."""


class ConfigError(ZooError):
    """A training/eval configuration has an unknown key or a bad value."""


def did_you_mean(name: str, choices: list[str]) -> str:
    """A ' Did you mean X?' suffix when a close match exists, else ''."""
    import difflib

    close = difflib.get_close_matches(name, choices, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def one_line(text: str) -> str:
    """`text` with control characters (newlines, escapes) shown as \\n, \\x1b…: a name cannot forge a line."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
