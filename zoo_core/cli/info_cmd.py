"""`zoo list`, `zoo info`, `zoo plugins`."""
from __future__ import annotations

import argparse
import json
import sys

from ..api import get_card, is_available_offline, list_models
from ..cost import cached_cost
from ..registry import get_registry


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Attach list, info and plugins."""
    p = sub.add_parser("list", help="list models (cards) from every installed plugin")
    p.add_argument("pattern", nargs="?", help="glob or substring of the model name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all", action="store_true",
                   help="also cards that cannot run here, with the plugin or architecture each needs")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("info", help="a model's card, geometry and cost")
    p.add_argument("name", help="model name or architecture id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("plugins", help="installed plugins, their hooks and errors")
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", nargs="*", metavar="ARCH", help="also build these architectures (default: all) and "
                   "measure each one's receptive field against its declared context (imports torch)")
    p.set_defaults(func=cmd_plugins)


def warn_problems() -> None:
    """One warning line per broken plugin or card; the rest keeps working."""
    for problem in get_registry().problems:
        print(f"zoo: warning: plugin '{problem.plugin}': {problem.message}", file=sys.stderr)


def _params(arch_id: str, hp: dict) -> int:
    return int(cached_cost(get_registry().architecture(arch_id), hp)["parameters"])


def cmd_list(args: argparse.Namespace) -> int:
    """Print one row per model."""
    warn_problems()
    rows = []
    for card in list_models(args.pattern):
        rows.append({
            "name": card.name, "architecture": card.architecture, "scale": card.scale,
            "noise_level": card.noise_level, "style": card.style,
            "variants": dict(card.variants),  # every task field the family declares (conservative, ...)
            "parameters": _params(card.architecture, card.hyperparameters),
            "offline": is_available_offline(card), "trained": card.trained,
        })
    missing = _unavailable(args.pattern) if args.all else []
    if args.json:
        print(json.dumps(rows + missing, indent=2))
        return 0
    head = f"{'NAME':<24} {'ARCH':<12} {'SCALE':>5} {'NOISE':>5} {'STYLE':<6} {'PARAMS':>10}  OFFLINE"
    print(head)
    for r in rows:
        noise = "-" if r["noise_level"] < 0 else r["noise_level"]
        print(f"{r['name']:<24} {r['architecture']:<12} {r['scale']:>5} {noise:>5} {r['style']:<6} "
              f"{r['parameters']:>10,}  {'untrained' if not r['trained'] else 'yes' if r['offline'] else 'no'}")
    for r in missing:
        noise = "-" if r["noise_level"] < 0 else r["noise_level"]
        print(f"{r['name']:<24} {r['architecture']:<12} {r['scale']:>5} {noise:>5} {r['style']:<6} "
              f"{'-':>10}  needs {r['needs']}")
    if not rows and not missing:
        print("(no models match)" if args.pattern else "(no models installed)")
    return 0


def _unavailable(pattern: str | None) -> list[dict]:
    """Cards that cannot run here (their plugin is disabled or broken, or no plugin has their architecture)."""
    import fnmatch

    glob = pattern if pattern and any(ch in pattern for ch in "*?[") else f"*{pattern or ''}*"
    registered = get_registry().cards
    return [{"name": card.name, "architecture": card.architecture, "scale": card.scale,
             "noise_level": card.noise_level, "style": card.style, "needs": needs}
            for card, needs in sorted(get_registry().unavailable, key=lambda u: u[0].name)
            if card.name not in registered and fnmatch.fnmatch(card.name, glob)]


def cmd_info(args: argparse.Namespace) -> int:
    """Print the whole card plus geometry and cost."""
    card = get_card(args.name)
    arch = get_registry().architecture(card.architecture)
    geo = arch.geometry(card.hyperparameters)
    c = cached_cost(arch, card.hyperparameters)
    data = card.to_dict()
    data["geometry"] = {
        "scale": geo.scale, "in_channels": geo.in_channels, "out_channels": geo.out_channels,
        "offset": geo.offset, "context": geo.context, "size_multiple": geo.size_multiple,
        "supports_fp16": arch.supports_fp16, "supports_bf16": arch.supports_bf16,
    }
    data["cost"] = {k: round(v, 1) if isinstance(v, float) else v for k, v in c.items()}
    data["available_offline"] = is_available_offline(card)
    data["trained"] = card.trained
    data["plugin"] = get_registry().owners.get(("cards", card.name))
    if "imported" in card.tags:  # measured by `zoo import` (finding them again would import torch)
        from ..import_checks import read

        data["imported_checks"] = read(card) or "missing: run 'zoo import' on the source file again"
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    import yaml

    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """Print each installed plugin with its version, hooks and error."""
    reg = get_registry()
    rows = []
    for info in reg.plugins:
        owned = sorted(f"{kind[:-1] if kind != 'losses' else 'loss'}:{name}" for (kind, name), who in reg.owners.items() if who == info.name)
        rows.append({
            "name": info.name, "module": info.module, "distribution": info.distribution,
            "version": info.version, "hooks": info.hooks, "registered": owned,
            "disabled": info.disabled, "error": info.error,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "disabled" if r["disabled"] else ("BROKEN" if r["error"] else "ok")
        print(f"{r['name']} ({r['distribution']} {r['version']}) [{state}]  {r['module']}")
        if r["hooks"]:
            print(f"    hooks: {', '.join(r['hooks'])}")
        if r["registered"]:
            print(f"    registers: {', '.join(r['registered'])}")
        if r["error"]:
            print(f"    error: {r['error']}")
    return 0 if args.check is None else _check_architectures(args.check or sorted(reg.architectures))


def _check_architectures(names: list[str]) -> int:
    """`zoo plugins --check`: each architecture built with its defaults; 1 if any declares too little."""
    from ..conformance import check_architecture

    failed = 0
    for arch_id in names:
        arch = get_registry().architecture(arch_id)
        try:
            problems = check_architecture(arch)
        except Exception as exc:  # a plugin's network that fails to build is its problem line, not a traceback
            problems = [f"Architecture '{arch_id}' failed to build or run: {type(exc).__name__}: {exc}"]
        ok = f"Architecture '{arch_id}': context {arch.geometry().context} covers its receptive field"
        for line in problems or [ok]:
            print(f"check: {line}")
        failed += bool(problems)
    return 1 if failed else 0
