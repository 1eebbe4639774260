"""Downloads through the real huggingface_hub (its cache, HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN)."""
from __future__ import annotations

from pathlib import Path

from ..cards import Card
from ..errors import FetchError
from .safetensors_io import sha256_file


def _remove_cached(path: Path) -> None:
    # The cache stores a symlink in snapshots/ pointing at a blob; remove both so a retry re-downloads.
    target = path.resolve()
    path.unlink(missing_ok=True)
    if target != path:
        target.unlink(missing_ok=True)


def cached_hub_file(card: Card) -> Path | None:
    """The verified file in the Hub cache, without any network access; else None."""
    from huggingface_hub import try_to_load_from_cache

    w = card.weights
    hit = try_to_load_from_cache(repo_id=w["repo_id"], filename=w["filename"], revision=w["revision"])
    if isinstance(hit, str) and Path(hit).is_file() and sha256_file(Path(hit)) == w["sha256"]:
        return Path(hit)
    return None


def download(card: Card, *, progress: bool = True) -> Path:
    """hf_hub_download the card's file at its pinned revision and check its sha256."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    w = card.weights
    (enable_progress_bars if progress else disable_progress_bars)()
    try:
        path = Path(hf_hub_download(repo_id=w["repo_id"], filename=w["filename"], revision=w["revision"]))
    except Exception as exc:  # network down, offline mode, 404, auth: all mean "not from the Hub"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FetchError(
            f"Could not download '{card.name}' ({w['repo_id']}/{w['filename']}@{w['revision'][:12]}) "
            f"from the Hub: {type(exc).__name__}: {reason[:160]}."
        ) from None
    got = sha256_file(path)
    if got != w["sha256"]:
        _remove_cached(path)
        raise FetchError(
            f"Downloaded '{card.name}' but its sha256 is {got[:16]}…, the card expects {w['sha256'][:16]}…; "
            "the corrupt file was deleted."
        )
    return path
