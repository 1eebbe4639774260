"""`zoo push`: publish weights and a generated Hub model card."""
from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path

from ..api import weights_for
from ..errors import ZooError
from ..weights.push import hub_filename, hub_weights, push, refuse_existing, stage
from .fetch_cmd import cards_named


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach push."""
    p = sub.add_parser(
        "push", help="publish models' safetensors and a generated README.md to a Hugging Face Hub repo",
        description="Upload each model's verified safetensors plus a README.md (YAML front matter: licence, tags, "
        "provenance, metrics) in one commit, tagged with the cards' revision. Push all models of a repo together: "
        "the README describes the models of this push.",
    )
    p.add_argument("names", nargs="+", metavar="NAME",
                   help="model names, globs ('upconv7-*') or card files (RUN_DIR/export/NAME.yaml)")
    p.add_argument("--repo-id", required=True, help="target repo, ORG/NAME (uses HF_TOKEN or 'hf auth login')")
    p.add_argument("--dry-run", type=Path, metavar="OUTDIR", help="only write the folder that would be uploaded")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("-m", "--message", help="commit message")
    p.add_argument("--upstream", type=Path, help="folder holding the original files, for an offline rebuild")
    p.set_defaults(func=cmd_push)


def cmd_push(args: argparse.Namespace) -> int:
    """Stage (dry run) or push."""
    cards = cards_named(args.names)
    # Before a first push the Hub lacks the files: rebuilding is expected, so say nothing (sha256 is checked).
    locate = functools.partial(weights_for, upstream_dir=args.upstream, progress=False, notify=lambda _message: None)
    if args.dry_run is not None:
        if os.path.lexists(args.dry_run) and not os.path.isdir(args.dry_run):
            raise ZooError(f"--dry-run '{args.dry_run}' exists and is not a folder.")
        refuse_existing(cards, args.dry_run)
        for path in _staged(cards, args.dry_run, args.repo_id, locate):
            print(path)
        _say_new_weights(cards, args.repo_id)
        print(f"dry run: nothing uploaded; 'zoo push {' '.join(args.names)} --repo-id {args.repo_id}' would send these.")
        return 0
    print(push(cards, args.repo_id, locate=locate, private=args.private, message=args.message))
    _say_new_weights(cards, args.repo_id)
    return 0


def _staged(cards: list, folder: Path, repo_id: str, locate: functools.partial) -> list[Path]:
    """stage() into `folder`; on any failure what it wrote is removed, and the folder too if this run made it, so
    a failed dry run leaves nothing that blocks the next one."""
    made = not os.path.lexists(folder)
    names = [folder / "README.md", *(folder / hub_filename(c) for c in cards)]
    try:
        return stage(cards, folder, repo_id, locate=locate)
    except BaseException:
        for path in names:  # refuse_existing made sure none of these was there before
            if path.is_file() and not path.is_symlink():
                path.unlink()
        if made and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _say_new_weights(cards: list, repo_id: str) -> None:
    """For cards whose weights ship in a plugin or a run: the `weights:` block that points them at the Hub."""
    for card in cards:
        if not card.on_hub:
            block = ", ".join(f"{k}: {v}" for k, v in hub_weights(card, repo_id).items())
            print(f"{card.name}: to fetch it from the Hub, set its card's weights to {{{block}}}")
