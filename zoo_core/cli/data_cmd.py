"""`zoo data prepare [NAME]` and `zoo data list`: training corpora from the registered dataset plugins."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_CORPUS = "debian-art"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach `data` with its prepare and list sub-commands."""
    p = sub.add_parser("data", help="training corpora: prepare and list them")
    data_sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    data_sub.required = True
    prep = data_sub.add_parser("prepare", help="download, render, de-duplicate and split a corpus")
    prep.add_argument("name", nargs="?", default=DEFAULT_CORPUS, help=f"corpus name (default: {DEFAULT_CORPUS})")
    prep.add_argument("--dir", type=Path, help="where to build it (default: $ZOO_HOME/data/NAME)")
    prep.add_argument("--force", action="store_true", help="rebuild even if a complete copy exists")
    prep.add_argument("--debs", type=Path, metavar="DIR",
                      help="a folder of .deb files to use instead of downloading them (as ZOO_DEBS)")
    prep.set_defaults(func=cmd_prepare)
    sheet = data_sub.add_parser("sheet", help="a contact sheet (JPEG/PNG) of a sample of a prepared corpus")
    sheet.add_argument("name", nargs="?", default=DEFAULT_CORPUS)
    sheet.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.jpg")
    sheet.add_argument("--count", type=int, default=48, help="pictures on the sheet (default 48)")
    sheet.add_argument("--split", default="train", choices=("train", "val"))
    sheet.set_defaults(func=cmd_sheet)
    lst = data_sub.add_parser("list", help="registered corpora and whether they are prepared")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)


def cmd_prepare(args: argparse.Namespace) -> int:
    """Build one corpus (a no-op when a complete copy of the same version exists)."""
    import os

    from ..data.prepare import prepare
    from ..errors import ConfigError
    from ..registry import get_registry

    spec = get_registry().dataset(args.name)
    if args.debs is not None:
        if not os.path.isdir(args.debs):
            raise ConfigError(f"--debs {args.debs} is not a folder. Give the folder that holds the .deb files.")
        os.environ["ZOO_DEBS"] = os.pathsep.join([str(args.debs), os.environ.get("ZOO_DEBS", "")]).rstrip(os.pathsep)
    folder, manifest, built = prepare(spec, args.dir, force=args.force)
    counts = manifest["split"]["counts"]
    skipped = ", ".join(f"{n} {why}" for why, n in manifest.get("skipped", {}).items()) or "none"
    state = "prepared" if built else "already prepared (nothing to do; --force rebuilds)"
    print(f"{spec.name}: {state} in {folder}\n  train {counts['train']} images, val {counts['val']} images; "
          f"left out: {skipped}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """One line per registered corpus."""
    from ..data import corpus_dir
    from ..data.prepare import MANIFEST, corpus_state
    from ..registry import get_registry

    rows = []
    for name, spec in sorted(get_registry().datasets.items()):
        manifest, problem = corpus_state(corpus_dir(name))
        counts = manifest["split"]["counts"] if manifest else None
        if problem:
            problem = f"{corpus_dir(name) / MANIFEST} is damaged ({problem}). Fix: zoo data prepare {name} --force"
        rows.append({"name": name, "prepared": bool(manifest), "dir": str(corpus_dir(name)), "counts": counts,
                     "description": spec.description, "problem": problem})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = f"train {r['counts']['train']}, val {r['counts']['val']}" if r["prepared"] else \
            "damaged" if r["problem"] else "not prepared"
        if r["problem"]:
            print(f"zoo: {r['problem']}", file=sys.stderr)
        print(f"{r['name']:<16} {state:<22} {r['description']}")
    if not rows:
        print("no corpus registered", file=sys.stderr)
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    """Thumbnails of `count` pictures spread over the split, each source in turn, in one image."""
    import io
    import os

    from ..atomic import atomic_write, writable_target
    from ..data import corpus_dir
    from ..data.prepare import split_entries
    from ..data.sheet import contact_sheet
    from ..errors import ConfigError

    if not 1 <= args.count <= 400:
        raise ConfigError(f"--count is {args.count}; give 1 to 400.")
    entries = split_entries(args.name, args.split)
    base = os.path.realpath(corpus_dir(args.name))
    if os.path.realpath(args.output).startswith(base + os.sep):  # before any reading: the corpus stays as built
        raise ConfigError(f"-o {args.output} is inside the corpus folder {base}; zoo never writes there but "
                          "through 'zoo data prepare'. Give a file name outside it.")
    writable_target(args.output, ConfigError)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}.get(args.output.suffix.lower())
    if fmt is None:
        raise ConfigError(f"-o {args.output}: give a .jpg, .png or .webp file name for the sheet.")
    sheet, shown, unreadable = contact_sheet(entries, args.count)
    if not shown:
        raise ConfigError(f"No picture of {args.name} ({args.split}) could be read. Fix: zoo data prepare "
                          f"{args.name} --force")
    buf = io.BytesIO()
    sheet.save(buf, format=fmt, **({"quality": 85} if fmt != "PNG" else {}))
    atomic_write(args.output, lambda f: f.write(buf.getvalue()), ConfigError)
    left = f"; {unreadable} unreadable left out" if unreadable else ""
    print(f"{args.output}: {shown} pictures of {args.name} ({args.split}){left}")
    return 0
