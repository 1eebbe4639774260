"""Downloads through the real huggingface_hub: its cache, HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN, pinned revisions.

Where the files live is one setting a fork can change: ZOO_HUB_REPO=ORG/NAME[@REVISION] sends every Hub
card to that repository (filenames are unique across the zoo: `{card name}.safetensors`).
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from ..card_paths import REPO_RE as REPO_PATTERN, check_relative, check_repo_id, check_revision
from ..cards import Card
from ..errors import FetchError, one_line
from .problems import SettingError

ENV_REPO = "ZOO_HUB_REPO"
REPO_RE = re.compile(REPO_PATTERN.pattern + r"\Z")  # ORG/NAME, nothing before or after (not even a newline)
TRUE = {"1", "on", "yes", "true"}


class HubCorruptError(FetchError):
    """The Hub served a file whose sha256 is not the card's; it was deleted from the cache."""


@dataclass(frozen=True, kw_only=True)
class HubLocation:
    """Where a card's weights are on the Hub, after the ZOO_HUB_REPO override."""

    repo_id: str
    filename: str
    revision: str

    def __str__(self) -> str:
        return f"{self.repo_id}/{self.filename}@{self.revision[:12]}"


def hub_location(card: Card) -> HubLocation:
    """The card's repo/file/revision, with ZOO_HUB_REPO=ORG/NAME[@REV] taking precedence; every part checked so
    that nothing huggingface_hub writes (refs, snapshots) can land outside its cache."""
    w = card.weights
    repo, revision = w["repo_id"], w["revision"]
    override = os.environ.get(ENV_REPO, "").strip()
    where = f"{ENV_REPO}={one_line(override)!r:.120}"
    if override:
        repo, _, rev = override.partition("@")
        revision = rev or revision
        check_repo_id(repo, "ORG/NAME", where, SettingError)
        if rev:
            check_revision(rev, "@REVISION", where, SettingError)
    check_repo_id(w["repo_id"], "field 'weights.repo_id'", card.source, SettingError)
    check_revision(w["revision"], "field 'weights.revision'", card.source, SettingError)
    check_relative(w["filename"], "weights.filename", card.source, SettingError)
    return HubLocation(repo_id=repo, filename=w["filename"], revision=revision)


ENDPOINT_HELP = "Fix: set it to the Hub's address such as https://huggingface.co (or a mirror's), or unset it."


def checked_endpoint(value: str) -> str:
    """HF_ENDPOINT as an http(s) URL with a host and a valid port; SettingError in one line otherwise."""
    shown = f"HF_ENDPOINT={one_line(value)!r:.120}"
    if not value.isprintable() or len(value) > 2000:
        raise SettingError(f"{shown} holds control characters or is too long. {ENDPOINT_HELP}")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for 99999 or 'abc'
    except ValueError as exc:
        raise SettingError(f"{shown} is not a URL ({exc}). {ENDPOINT_HELP}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{shown} is not an http:// or https:// URL with a host name. {ENDPOINT_HELP}")
    del port
    return value


def hub_settings() -> dict[str, Any]:
    """Endpoint, cache folder and offline flag read from the environment now, not at import of huggingface_hub."""
    if os.environ.get("HF_ENDPOINT"):  # checked before the import: huggingface_hub parses it then, and raises
        checked_endpoint(os.environ["HF_ENDPOINT"])
    from huggingface_hub import constants

    home = os.environ.get("HF_HOME")
    cache = os.environ.get("HF_HUB_CACHE") or (str(Path(home) / "hub") if home else None)
    offline_env = os.environ.get("HF_HUB_OFFLINE")
    offline = offline_env.strip().lower() in TRUE if offline_env is not None else constants.HF_HUB_OFFLINE
    return {
        "endpoint": checked_endpoint(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/"),
        "cache_dir": cache or constants.HF_HUB_CACHE,
        "offline": bool(offline),
    }


def remove_cached(path: Path) -> None:
    """Delete a cached file: the snapshot symlink and the blob it points to, so a retry re-downloads."""
    path = Path(path)
    target = path.resolve()
    path.unlink(missing_ok=True)
    if target != path:
        target.unlink(missing_ok=True)


def cached_file(card: Card) -> Path | None:
    """The file in the Hub cache (not verified here: the resolver checks it), without any network access."""
    loc, settings = hub_location(card), hub_settings()
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(
        repo_id=loc.repo_id, filename=loc.filename, revision=loc.revision, cache_dir=settings["cache_dir"]
    )
    return Path(hit) if isinstance(hit, str) and Path(hit).is_file() else None


def _unreachable(settings: dict[str, Any]) -> str:
    return f"{settings['endpoint']} could not be reached and the file is not in the Hub cache"


def _reason(exc: BaseException, loc: HubLocation, settings: dict[str, Any]) -> str:
    """One short phrase saying why the Hub did not give the file."""
    from huggingface_hub import errors

    if isinstance(exc, errors.RevisionNotFoundError):
        return f"the Hub repo '{loc.repo_id}' has no revision '{loc.revision}'"
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return f"the Hub repo '{loc.repo_id}' has no file '{loc.filename}' at revision '{loc.revision}'"
    if isinstance(exc, errors.GatedRepoError):
        return f"the Hub repo '{loc.repo_id}' is gated: accept its terms and set HF_TOKEN"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return f"the Hub repo '{loc.repo_id}' does not exist or is private (set HF_TOKEN if it is yours)"
    if isinstance(exc, (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled)) and settings["offline"]:
        return "HF_HUB_OFFLINE is set and the file is not in the Hub cache"
    if isinstance(exc, errors.LocalEntryNotFoundError):
        return _unreachable(settings)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}".rstrip(": ")


def _silent_tqdm() -> type:
    from huggingface_hub.utils import tqdm

    class Silent(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent


def endpoint_reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the endpoint's host opens: a name that does not resolve or a refused port
    is not going to heal during huggingface_hub's ~30 s of retries, so the fallback can start at once."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _hf_download(card: Card, loc: HubLocation, settings: dict[str, Any], progress: bool, force: bool,
                 max_bytes: int) -> Path:
    from huggingface_hub import hf_hub_download

    from .hub_limits import HubLimitError, bounded

    if not settings["offline"] and not endpoint_reachable(settings["endpoint"]):  # callers tried the cache first
        raise FetchError(f"Could not download '{card.name}' ({loc}): {_unreachable(settings)}.")
    try:
        with bounded(max_bytes):  # a total time and size: huggingface_hub bounds only each read
            return Path(hf_hub_download(
                repo_id=loc.repo_id, filename=loc.filename, revision=loc.revision, cache_dir=settings["cache_dir"],
                endpoint=settings["endpoint"], local_files_only=settings["offline"], force_download=force,
                tqdm_class=None if progress else _silent_tqdm(),
            ))
    except HubLimitError as exc:
        raise FetchError(f"Could not download '{card.name}' ({loc}): {exc}.") from None
    except Exception as exc:  # network, offline mode, 404, auth: all mean "not from the Hub"
        raise FetchError(f"Could not download '{card.name}' ({loc}): {_reason(exc, loc, settings)}.") from None


def download(card: Card, *, progress: bool = True, wrong_digest: Callable[[Path], str | None],
             max_bytes: int = 2 << 30) -> Path:
    """hf_hub_download the card's file at its pinned revision; a file with the wrong sha256 is deleted.

    `wrong_digest` is the resolver's check (None: the card's sha256). A bad copy already in the cache is
    replaced by one fresh download; if the Hub itself serves bad bytes, they are deleted and HubCorruptError
    says so. A download may take at most `max_bytes` and the time those need (hub_limits.py).
    """
    loc, settings = hub_location(card), hub_settings()
    path = _hf_download(card, loc, settings, progress, force=False, max_bytes=max_bytes)
    got = wrong_digest(path)
    if got is not None and not settings["offline"]:
        remove_cached(path)  # a damaged cache blob: hf_hub_download would keep returning it
        path = _hf_download(card, loc, settings, progress, force=True, max_bytes=max_bytes)
        got = wrong_digest(path)
    if got is not None:
        remove_cached(path)
        raise HubCorruptError(
            f"Downloaded '{card.name}' ({loc}) but its sha256 is {got[:16]}…, the card expects "
            f"{card.weights['sha256'][:16]}…; the bad file was deleted from the Hub cache."
        )
    return path
