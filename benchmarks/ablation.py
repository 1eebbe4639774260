"""One-factor-at-a-time ablation of the training recipe, scored per held-out group (benchmarks/transfer_val.py).

The plain recipe (issue 24's probe): the fold's real art only, random aligned 96 px HR patches (grey std < 4
redrawn), batch 16, Adam at a constant 1e-4, horizontal flips only, one scale, no clip art, no synthetic images, no
active sampling, no EMA. Each other recipe changes one factor of it; `current` is the recipe the shipped models were
trained with (configs/drrn-lite.yaml: clip art + synthetic + half-scale copies + active sampling + rotations + a
cosine restart from 5e-4 + EMA). Every run fine-tunes the same start (default: the shipped drrn-lite, which never
trained on fold L's held-out pictures) for the same number of steps with `zoo train`, then scores the export.

    .venv/bin/python benchmarks/ablation.py run --fold L --steps 600 [--recipes plain current ...]
    .venv/bin/python benchmarks/ablation.py table [--fold L]

Runs live in runs/ablation/FOLD/RECIPE (ignored by git); a run that was stopped resumes from its last checkpoint,
a finished one (result.json) is not run again. The table is written into benchmarks/README.md by hand, with this
command.
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transfer_val as tv  # noqa: E402  (a sibling script)

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "ablation"
# committed checkpoints (their EMA = the cards as shipped in session 16): the start stays fixed when a card changes
STARTS = {"drrn-lite": "configs/resume/drrn-lite/ckpt-00012000.safetensors",
          "drrn-lite-7u": "configs/resume/drrn-lite-7u/ckpt-00009000.safetensors",
          "espcn7": "configs/resume/espcn7/ckpt-00048000.safetensors"}
# a start that never saw any corpus picture: fold E holds out the shipped models' own training pictures
STARTS["drrn-lite-scratch"] = ""
HYPER = {"drrn-lite": ("drrn-lite", {"scale": 2, "channels": 32, "recursions": 1, "units": 3}),
         "drrn-lite-scratch": ("drrn-lite", {"scale": 2, "channels": 32, "recursions": 1, "units": 3}),
         "drrn-lite-7u": ("drrn-lite", {"scale": 2, "channels": 32, "recursions": 1, "units": 7}),
         "espcn7": ("espcn7", {})}
REAL_REPEAT = 96  # as configs/drrn-lite.yaml: real art ~57 % of the patches beside the clip art

PLAIN: dict[str, Any] = {
    "data": {"dirs": ["REAL"], "patch_size": 96, "max_patch_per_img": 16, "sampling": "random", "augment": "flips",
             "min_patch_std": 4.0, "scales": [1.0], "workers": 0},
    "degradation": {"name": "seed-jpeg", "options": {"noise_level": 0}},
    "loss": {"name": "weighted-mse"},
    "optim": {"batch_size": 16, "lr": 1e-4, "min_lr": 1e-4, "warmup_steps": 0, "clip_grad": 0.0, "ema": 0.0,
              "bf16": "auto", "channels_last": True, "threads": 1, "seed": 0},
    "validate": {"every": 1_000_000, "synthetic": {"count": 1, "size": 96, "seed": 99}},
    "checkpoint_every": 100, "log_every": 50,
}
# recipe -> changes to PLAIN (dotted keys); "current" = every factor of the shipped recipe at once
RECIPES: dict[str, dict[str, Any]] = {
    "plain": {},
    "plain-seed1": {"optim.seed": 1},  # the same recipe, other patches and order: the spread of one run
    "clipart": {"data.dirs": ["REAL", "DRAWINGS"], "data.dir_repeat": {"REAL": REAL_REPEAT}},
    # the clip art's share of the patches: ~70 % in "clipart" (5 real pictures x 96 against 1,116 drawings), ~30 %, ~10 %
    "clipart30": {"data.dirs": ["REAL", "DRAWINGS"], "data.dir_repeat": {"REAL": 520}},
    "clipart10": {"data.dirs": ["REAL", "DRAWINGS"], "data.dir_repeat": {"REAL": 2000}},
    "synthetic": {"data.synthetic": {"count": 200, "size": 288, "seed": 0}, "data.dir_repeat": {"REAL": REAL_REPEAT}},
    "halfscale": {"data.scales": [1.0, 0.5]},
    "active": {"data.sampling": "active", "data.min_patch_std": 0.0},
    "rotations": {"data.augment": True},
    "patch192": {"data.patch_size": 192, "optim.batch_size": 4},  # the same HR pixels per step
    "cosine": {"optim.lr": 5e-4, "optim.min_lr": 1e-5, "optim.warmup_steps": 100, "optim.clip_grad": 1.0},
    "ema": {"optim.ema": 0.998},
    "current": {"data.dirs": ["REAL", "DRAWINGS"], "data.dir_repeat": {"REAL": REAL_REPEAT},
                "data.synthetic": {"count": 200, "size": 288, "seed": 0}, "data.scales": [1.0, 0.5],
                "data.sampling": "active", "data.min_patch_std": 0.0, "data.max_patch_per_img": 9,
                "data.augment": True, "optim.lr": 5e-4, "optim.min_lr": 1e-5, "optim.warmup_steps": 100,
                "optim.clip_grad": 1.0, "optim.ema": 0.998},
}


def fold_dirs(fold: str) -> dict[str, str]:
    """Copies of the fold's training pictures: runs/ablation/folds/FOLD/{real,drawings} (made once)."""
    pictures, out = tv.fold_pictures("debian-art", fold), {}
    for key, name in (("train real", "real"), ("train drawings", "drawings")):
        folder = RUNS / "folds" / fold / name
        if not folder.is_dir():
            tmp = folder.with_name(name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for f in pictures[key]:
                shutil.copyfile(f, tmp / f.name)
            tmp.rename(folder)
        out[name.upper()] = str(folder)
    return out


def _resolve(value: Any, dirs: dict[str, str]) -> Any:
    """REAL/DRAWINGS placeholders -> the fold's folders, in lists and dict keys."""
    if isinstance(value, list):
        return [dirs.get(v, v) if isinstance(v, str) else v for v in value]
    if isinstance(value, dict):
        return {dirs.get(k, k): v for k, v in value.items()}
    return value


def config(recipe: str, fold: str, steps: int, start: str, run_dir: Path) -> dict[str, Any]:
    """The zoo train config of one ablation run."""
    cfg, dirs = copy.deepcopy(PLAIN), fold_dirs(fold)
    for dotted, value in RECIPES[recipe].items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = copy.deepcopy(value)
    cfg["data"] = {k: _resolve(v, dirs) for k, v in cfg["data"].items()}
    arch, hp = HYPER[start]
    cfg["name"] = f"abl-{fold.lower()}-{recipe}"
    cfg["model"] = {"architecture": arch, "hyperparameters": hp, "init_from": STARTS[start]}
    if not STARTS[start]:  # from scratch: PyTorch's init (the global bicubic residual starts it at bicubic)
        del cfg["model"]["init_from"]
    cfg["optim"]["steps"] = steps
    cfg["run_dir"] = str(run_dir)
    return cfg


def run(recipe: str, fold: str, steps: int, start: str) -> dict[str, Any]:
    """Train (or resume) one recipe on one fold, then score its export on the fold's held-out groups."""
    run_dir = RUNS / fold / start / f"{recipe}-{steps}"
    result = run_dir / "result.json"
    if result.exists():
        return json.loads(result.read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg_file = run_dir / "config.yaml"
    cfg_file.write_text(yaml.safe_dump(config(recipe, fold, steps, start, run_dir / "train"), sort_keys=False))
    with open(run_dir / "train.log", "a") as log:
        rc = subprocess.call([str(ROOT / ".venv/bin/zoo"), "train", str(cfg_file)], stdout=log, stderr=log, cwd=ROOT)
    if rc:
        sys.exit(f"error: training {recipe} on fold {fold} failed (rc {rc}); see {run_dir / 'train.log'}")
    export = run_dir / "train" / "export"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sets = tv.crop_sets("debian-art", fold, Path(tmp))
        scores = tv.gains(str(export / f"abl-{fold.lower()}-{recipe}.yaml"), str(export / f"abl-{fold.lower()}-{recipe}.safetensors"),
                          sets)
    out = {"recipe": recipe, "fold": fold, "steps": steps, "start": start, "gains": scores,
           "changes": RECIPES[recipe], "command": f"benchmarks/ablation.py run --fold {fold} --steps {steps} "
                                                  f"--start {start} --recipes {recipe}"}
    result.write_text(json.dumps(out, indent=1))
    return out


def baseline(fold: str, start: str) -> dict[str, Any]:
    """The start itself (no fine-tuning), scored the same way (cached)."""
    path = RUNS / fold / start / "start.json"
    if not path.exists():
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        from zoo_core.train.init_from import checkpoint_weights
        from zoo_core.weights.safetensors_io import load_safetensors, save_safetensors

        with tempfile.TemporaryDirectory() as tmp:
            sets = tv.crop_sets("debian-art", fold, Path(tmp))
            weights = Path(tmp) / "start.safetensors"  # the start checkpoint's EMA, as its card's weights
            save_safetensors(weights, checkpoint_weights(load_safetensors(ROOT / STARTS[start])[0]))
            path.write_text(json.dumps({"gains": tv.gains(start, str(weights), sets)}, indent=1))
    return json.loads(path.read_text())


EMPTY = {"E": ("character 1/2",)}  # the eileen sprite at half size is narrower than one 192 px crop


def rescore(fold: str, start: str) -> None:
    """Score finished runs (and the start) on groups added to transfer_val.py after they were scored."""
    import tempfile

    wanted = tv.groups(fold)
    stale = [p for p in (RUNS / fold / start).glob("*/result.json")
             if set(wanted) - set(json.loads(p.read_text())["gains"]) - set(EMPTY.get(fold, ()))]
    start_file = RUNS / fold / start / "start.json"
    if start_file.exists() and set(wanted) - set(json.loads(start_file.read_text())["gains"]) - set(EMPTY.get(fold, ())):
        start_file.unlink()
    if not stale:
        return
    with tempfile.TemporaryDirectory() as tmp:
        sets = tv.crop_sets("debian-art", fold, Path(tmp))
        for path in stale:
            r = json.loads(path.read_text())
            export = path.parent / "train" / "export"
            name = f"abl-{fold.lower()}-{r['recipe']}"
            r["gains"] = tv.gains(str(export / f"{name}.yaml"), str(export / f"{name}.safetensors"), sets)
            path.write_text(json.dumps(r, indent=1))


def table(fold: str, start: str) -> str:
    """Markdown: one row per finished run, one column per held-out group."""
    rescore(fold, start)
    groups = tv.groups(fold)
    rows = [f"| recipe (fold {fold}, from {start}) | steps | " + " | ".join(groups) + " |",
            "|---|---:|" + "---:|" * len(groups)]
    if STARTS[start]:
        base = baseline(fold, start)["gains"]
        rows.append("| (the start, not fine-tuned) | 0 | " + " | ".join(f"{base[g]['gain_db']:+.2f}" for g in groups) + " |")
    for result in sorted((RUNS / fold / start).glob("*/result.json")):
        r = json.loads(result.read_text())
        rows.append(f"| {r['recipe']} | {r['steps']} | " + " | ".join(
            f"{r['gains'][g]['gain_db']:+.2f}" if g in r["gains"] else "–" for g in groups) + " |")
    return "\n".join(rows)


def main() -> None:
    """run: train and score recipes; table: print what has finished."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--fold", choices=sorted(tv.FOLDS), default="L")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--start", choices=sorted(STARTS), default="drrn-lite")
    ap.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=list(RECIPES))
    args = ap.parse_args()
    if args.what == "table":
        print(table(args.fold, args.start))
        return
    for recipe in args.recipes:
        r = run(recipe, args.fold, args.steps, args.start)
        print(recipe, {g: v["gain_db"] for g, v in r["gains"].items()}, flush=True)


if __name__ == "__main__":
    main()
