"""`zoo push`: publish cards' verified safetensors plus a generated Hub README (model card) with huggingface_hub."""
from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import yaml

from ..atomic import atomic_write
from ..cards import Card, require_trained
from ..errors import ZooError
from .hub import REPO_RE, hub_settings

Locate = Callable[[Card], Path]  # a card -> its verified weights (zoo_core.api.weights_for, with the CLI's options)

LICENSES = {"mit": "mit", "apache-2.0": "apache-2.0", "bsd-3-clause": "bsd-3-clause", "cc-by-4.0": "cc-by-4.0",
            "cc-by-nc-4.0": "cc-by-nc-4.0", "cc-by-sa-4.0": "cc-by-sa-4.0", "cc0-1.0": "cc0-1.0"}
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}")  # matched whole: no newline can forge a README line


def hub_filename(card: Card) -> str:
    """The card's file name on the Hub: its own `weights.filename`, else NAME.safetensors (weights in a plugin)."""
    return str(card.weights.get("filename") or f"{card.name}.safetensors")


def hub_weights(card: Card, repo_id: str) -> dict[str, str]:
    """The `weights:` block a card takes once its file is on the Hub at `repo_id`."""
    return {"repo_id": repo_id, "filename": hub_filename(card),
            "revision": str(card.weights.get("revision", "main")), "sha256": card.weights["sha256"]}


def _hub_license(cards: list[Card]) -> dict[str, str]:
    ids = {LICENSES.get(c.license.lower()) for c in cards}
    if len(ids) == 1 and None not in ids:
        return {"license": ids.pop()}
    return {"license": "other", "license_name": " / ".join(sorted({c.license for c in cards}))}


def _metric_entries(card: Card) -> list[dict[str, Any]]:
    """Card metrics with a numeric `value` → Hub model-index metrics (plus their baselines, when given)."""
    out = []
    for key, m in sorted(card.metrics.items()):
        if isinstance(m, dict) and isinstance(m.get("value"), (int, float)):
            out.append({"type": key, "name": m.get("name", key), "value": m["value"]})
            for base in ("bicubic", "lanczos"):
                if isinstance(m.get(base), (int, float)):
                    out.append({"type": f"{key}_{base}", "name": f"{m.get('name', key)}, {base} baseline",
                                "value": m[base]})
    return out


def _provenance(card: Card) -> dict[str, Any]:
    prov: dict[str, Any] = {
        "name": card.name, "file": hub_filename(card), "sha256": card.weights["sha256"],
        "architecture": card.architecture, "hyperparameters": dict(card.hyperparameters),
        # every task field the family tells its cards apart by (Real-CUGAN's conservative too), not only waifu2x's
        "task": {"scale": card.scale, "noise_level": card.noise_level, "style": card.style, **card.variants},
    }
    if card.upstream:
        prov["source"] = {k: card.upstream[k] for k in ("url", "license", "package", "format", "files", "command")
                          if k in card.upstream}
    return prov


def front_matter(cards: list[Card]) -> dict[str, Any]:
    """The README's YAML header: licence, tags, provenance (zoo:) and metrics (model-index)."""
    tags = sorted({"zoo", "image-to-image", "super-resolution", *(t for c in cards for t in c.tags)})
    index = []
    for c in cards:
        metrics = _metric_entries(c)
        if metrics:
            index.append({"name": c.name, "results": [{
                "task": {"type": "image-to-image", "name": f"{c.scale}x super-resolution"
                         + (f", noise level {c.noise_level}" if c.noise_level >= 0 else "")},
                "dataset": {"name": str(next(iter(c.metrics.values())).get("dataset", "evaluation images")),
                            "type": "images"},
                "metrics": metrics,
            }]})
    data: dict[str, Any] = {**_hub_license(cards), "library_name": "zoo", "pipeline_tag": "image-to-image",
                            "tags": tags, "zoo": {"models": [_provenance(c) for c in cards]}}
    if index:
        data["model-index"] = index
    return data


def _row(c: Card) -> str:
    m = next((v for v in c.metrics.values() if isinstance(v, dict) and "value" in v), None)
    psnr = f"{m['value']:.2f} ({m.get('bicubic', float('nan')):.2f} / {m.get('lanczos', float('nan')):.2f})" if m else "–"
    noise = "–" if c.noise_level < 0 else str(c.noise_level)
    return f"| `{c.name}` | {c.scale}× | {noise} | {c.style} | `{hub_filename(c)}` | `{c.weights['sha256'][:16]}…` | {psnr} |"


def readme(cards: list[Card], repo_id: str) -> str:
    """The Hub model card: YAML front matter, then what the files are, how to use and reproduce them."""
    head = yaml.safe_dump(front_matter(cards), sort_keys=False, allow_unicode=True, width=1000)
    lines = [f"---\n{head}---", "", f"# {repo_id}", "",
             "Weights for zoo, a plugin-based model zoo for anime-style super-resolution and JPEG noise reduction "
             "(waifu2x's field), as safetensors (no pickles).", "",
             "| model | scale | noise | style | file | sha256 | PSNR-Y dB (bicubic / Lanczos) |",
             "|---|---|---|---|---|---|---|", *(_row(c) for c in cards), "",
             "## Use", "", "```bash", f"zoo fetch {cards[0].name}        # downloads and checks the sha256",
             f"zoo upscale -m {cards[0].name} in.png -o out.png", "```", "",
             f"A fork publishing its own copy sets `ZOO_HUB_REPO={repo_id}` so zoo fetches from it.", "",
             "## Provenance", ""]
    for c in cards:
        up = c.upstream
        src = ", ".join(f"`{Path(f['path']).name}` (sha256 `{f['sha256']}`)" for f in up.get("files", []))
        how = f" Made with `{up['command']}`." if up.get("command") else ""
        where = f" in `{up['package']}`" if up.get("package") else ""  # an imported file names no package
        url = f", {up['url']}" if up.get("url") else ""
        lines.append(f"- `{c.name}`: {c.description}" + (f" From {src}{where}" if src else "")
                     + (f" ({up.get('license', c.license)}{url})." if src else ".") + how)
        for key, m in sorted(c.metrics.items()):
            if isinstance(m, dict) and m.get("command"):
                lines.append(f"  - {key}: `{m['command']}`" + (f"; {m['protocol']}" if m.get("protocol") else ""))
    lines.append("")
    return "\n".join(lines)


def _check_publishable(card: Card) -> None:
    """What the README prints from a card: tags as single-line strings, metrics as mappings of finite numbers."""
    bad_tags = [t for t in card.tags if not isinstance(t, str) or not TAG_RE.fullmatch(t)]
    if bad_tags:
        raise ZooError(f"Card '{card.name}': tags must be short single-line words (letters, digits, '-', '_', '.', "
                       f"':', '/'), got {bad_tags[0]!r:.60}. Fix the card's tags.")
    for key, m in card.metrics.items():
        numbers = {k: m.get(k) for k in ("value", "bicubic", "lanczos") if k in m} if isinstance(m, dict) else None
        if numbers is None or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                      for v in numbers.values()):
            raise ZooError(f"Card '{card.name}': metric '{key}' must be a mapping whose value (and bicubic/lanczos "
                           f"baselines) are finite numbers, got {m!r:.80}. Fix the card's metrics.")


def check_cards(cards: list[Card]) -> None:
    """Trained cards (Hub or plugin weights), each with its own file name on the Hub, fit to publish."""
    for card in cards:
        require_trained(card)
        _check_publishable(card)
    names = [hub_filename(c) for c in cards]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ZooError(f"Several models use the file name {dup[0]}; give each card its own weights.filename "
                       "(or push them to separate repos).")


def _copy_checked(src: Path, dst: Path, card: Card) -> None:
    """Copy through zoo's atomic writer and verify the copy against the card's sha256 before it is renamed."""
    def write(f: BinaryIO) -> None:
        h = hashlib.sha256()
        with open(src, "rb") as s:
            for chunk in iter(lambda: s.read(1 << 20), b""):
                f.write(chunk)
                h.update(chunk)
        if h.hexdigest() != card.weights["sha256"]:
            raise ZooError(f"'{card.name}': the copy in {dst.parent} does not match the card's sha256; disk problem?")
    atomic_write(dst, write, ZooError)


def refuse_existing(cards: list[Card], folder: Path) -> None:
    """A dry run never replaces files already in its folder (a README.md of the user's own, say)."""
    for name in ["README.md", *(hub_filename(c) for c in cards)]:
        if os.path.lexists(folder / name):
            raise ZooError(f"{folder / name} already exists; --dry-run writes only into a new folder or one "
                           "without these files. Choose another folder or move it away.")


def stage(cards: list[Card], folder: Path, repo_id: str, *, locate: Locate) -> list[Path]:
    """Write the verified weights (found by `locate`) and README.md into `folder`: exactly what an upload sends."""
    if not REPO_RE.match(repo_id):
        raise ZooError(f"--repo-id {repo_id!r} is not ORG/NAME.")
    check_cards(cards)
    written = []
    for c in cards:
        src = locate(c)
        dst = folder / hub_filename(c)
        _copy_checked(src, dst, c)
        written.append(dst)
    atomic_write(folder / "README.md", lambda f: f.write(readme(cards, repo_id).encode()), ZooError)
    return written + [folder / "README.md"]


def _tag_for(cards: list[Card]) -> str | None:
    revs = {str(c.weights.get("revision", "main")) for c in cards}
    if len(revs) != 1:
        raise ZooError(f"The models name different revisions ({', '.join(sorted(revs))}); push them separately.")
    rev = revs.pop()
    return None if rev == "main" or COMMIT_RE.match(rev) else rev


def push(cards: list[Card], repo_id: str, *, locate: Locate, private: bool = False,
         message: str | None = None) -> str:
    """Upload weights + README in one commit, tag it with the cards' revision; return a summary line."""
    tag = _tag_for(cards)
    settings = hub_settings()
    if settings["offline"]:
        raise ZooError("HF_HUB_OFFLINE is set: cannot push. Unset it, or use --dry-run OUTDIR to see what would be sent.")
    from huggingface_hub import HfApi

    api = HfApi(endpoint=settings["endpoint"])
    with tempfile.TemporaryDirectory(prefix="zoo-push-") as tmp:
        files = stage(cards, Path(tmp), repo_id, locate=locate)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, folder_path=tmp,
                                     commit_message=message or f"zoo push {' '.join(c.name for c in cards)}")
            if tag:
                api.create_tag(repo_id, tag=tag, revision=info.oid, tag_message=f"zoo {tag}")
        except Exception as exc:  # auth, network, an existing tag: one line with the reason
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ZooError(f"Push to '{repo_id}' failed: {type(exc).__name__}: {first[:200]}. Log in with "
                           "'hf auth login' or set HF_TOKEN; if the tag exists, bump the cards' revision.") from None
    return f"pushed {len(files)} files to {settings['endpoint']}/{repo_id} at commit {info.oid}" + (
        f", tagged '{tag}'" if tag else "")
