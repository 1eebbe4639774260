"""`zoo train`'s checks before anything is written: the YAML's size, every number, the device, a memory
estimate, export names and the run folder (a folder zoo made, or a new or empty one; never tracked by git)."""
from __future__ import annotations

import math
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..errors import ConfigError
from ..numbers import number

RUN_MARK = ".zoo-run"  # written into a run folder zoo claims: checkpoints are pruned only beside it
RUN_FILES = re.compile(r"^(ckpt-\d{8}\.safetensors|log\.jsonl|export|\..*\.part|" + re.escape(RUN_MARK) + ")$")
MAX_CONFIG_BYTES = 1 << 20  # a training config is a few hundred bytes; this refuses a pasted data file
MAX_NODES = 20_000  # YAML nodes (aliases included) read from one config
MAX_DEPTH = 64  # nesting levels (PyYAML recurses per level)
MAX_VALUES = 100_000  # values once aliases are expanded: a 577-byte alias bomb expands to billions
MAX_SEED = 2**63 - 1  # torch.manual_seed's range

# dotted key -> (kind, lo, hi). Ranges hold every shipped config; they refuse what cannot train.
NUMBERS: dict[str, tuple[type, float, float]] = {
    "optim.steps": (int, 1, 1e10), "optim.batch_size": (int, 1, 1e6), "optim.lr": (float, 1e-12, 10),
    "optim.min_lr": (float, 0, 10), "optim.warmup_steps": (int, 0, 1e10), "optim.weight_decay": (float, 0, 10),
    "optim.clip_grad": (float, 0, 1e6), "optim.ema": (float, 0, 0.999999), "optim.seed": (int, 0, MAX_SEED),
    "optim.threads": (int, 0, 4096), "data.patch_size": (int, 8, 4096), "data.max_patch_per_img": (int, 1, 1e6),
    "data.repeat": (int, 1, 1e6), "data.min_patch_std": (float, 0, 127.999), "data.workers": (int, 0, 256),
    "data.synthetic.count": (int, 0, 1e7), "data.synthetic.size": (int, 8, 16384),
    "data.synthetic.seed": (int, 0, MAX_SEED), "validate.every": (int, 0, 1e10), "validate.count": (int, 1, 1e6),
    "validate.max_side": (int, 8, 65536), "validate.synthetic.count": (int, 0, 1e6),
    "validate.synthetic.size": (int, 8, 16384), "validate.synthetic.seed": (int, 0, MAX_SEED),
    "checkpoint_every": (int, 0, 1e10), "log_every": (int, 0, 1e10), "export.noise_level": (int, -1, 100),
}


class _Bounded(yaml.SafeLoader):
    """A safe loader that stops after MAX_NODES nodes (each alias counts)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.nodes, self.depth = getattr(self, "nodes", 0) + 1, getattr(self, "depth", 0) + 1
        if self.nodes > MAX_NODES:
            raise ConfigError(f"the YAML holds more than {MAX_NODES} values or aliases; a training config needs "
                              "a few dozen. Remove the repeated aliases (&name / *name).")
        if self.depth > MAX_DEPTH:
            raise ConfigError(f"the YAML is nested more than {MAX_DEPTH} levels deep; a training config needs 4.")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read_yaml(text: str, where: str) -> Any:
    """YAML from a config file or a --set value, bounded in size, nodes and expanded values."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where} is {len(text)} bytes; a training config is a few KB at most. Check the file.")
    try:
        data = yaml.load(text, Loader=_Bounded)  # noqa: S506 (a SafeLoader subclass)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where} is not valid YAML{line}. Check indentation, colons and brackets.") from None
    check_values(data, where)
    return data


def _walk(data: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for every value, aliases expanded; stops the caller at MAX_VALUES."""
    stack = [(key, data)]
    while stack:
        k, v = stack.pop()
        yield k, v
        if isinstance(v, dict):
            stack.extend((f"{k}.{c}" if k else str(c), x) for c, x in v.items())
        elif isinstance(v, list):
            stack.extend((f"{k}[{i}]", x) for i, x in enumerate(v))


def check_values(data: Any, where: str) -> None:
    """Refuse a NaN or infinity anywhere (loss and degradation options included) and alias expansion."""
    for count, (key, value) in enumerate(_walk(data, ""), 1):
        if count > MAX_VALUES:
            raise ConfigError(f"{where} expands to more than {MAX_VALUES} values (YAML aliases repeated inside "
                              "each other?); a training config needs a few dozen. Remove the aliases.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: {repr(key) if key else 'the value'} is {value}; give a finite number.")


def _get(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def check_numbers(cfg: Any) -> None:
    """Every number of the config through zoo's one number validator, then the values that go together."""
    for dotted, (kind, lo, hi) in NUMBERS.items():
        number(dotted, _get(cfg, dotted), kind=kind, lo=lo, hi=hi, error=ConfigError, text=False,
               hint="Fix it in the config or the --set value.")
    o = cfg.optim
    betas = o.betas
    if len(betas) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in betas):
        raise ConfigError(f"optim.betas is {betas!r:.60}; give two numbers in [0, 1), e.g. [0.9, 0.999].")
    for i, b in enumerate(betas):
        number(f"optim.betas[{i}]", b, kind=float, lo=0, hi=0.999999, error=ConfigError, text=False)
    if o.min_lr > o.lr:
        raise ConfigError(f"optim.min_lr ({o.min_lr:g}) is above optim.lr ({o.lr:g}); the schedule decays from lr "
                          "to min_lr. Lower min_lr.")
    check_device(o.device)
    if cfg.model.architecture:  # channels 0 and the like, before the run folder is made
        from ..registry import get_registry

        get_registry().architecture(cfg.model.architecture).resolve_hyperparameters(cfg.model.hyperparameters)
    if cfg.export.card_name and not _card_name(cfg.export.card_name):
        raise ConfigError(f"export.card_name {cfg.export.card_name!r:.80} is not a card name: use lowercase "
                          "letters, digits, '-', '_' and '.', starting with a letter or digit (no '/').")
    if not cfg.export.card_name and not _card_name(cfg.name):
        raise ConfigError(f"name {cfg.name!r:.80} is not a card name (it names the exported card): use lowercase "
                          "letters, digits, '-', '_' and '.', or set export.card_name.")


def _card_name(name: str) -> bool:
    from ..cards import NAME_RE

    return bool(NAME_RE.match(name)) and ".." not in name and len(name) <= 128


def check_device(name: str) -> None:
    """cpu, or a CUDA device that exists here."""
    if name == "cpu":
        return
    m = re.fullmatch(r"cuda(?::(\d{1,3}))?", name)
    if m is None:
        raise ConfigError(f"optim.device is {name!r:.60}; zoo trains on 'cpu' or 'cuda' (or 'cuda:N').")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if int(m.group(1) or 0) >= count:
        raise ConfigError(f"optim.device is '{name}' but this machine has {count or 'no'} CUDA GPU(s). "
                          "Use optim.device: cpu.")


def memory_total() -> int:
    """Physical memory in bytes (0 where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def check_memory(cfg: Any, total: int | None = None) -> None:
    """Refuse, before allocating, what cannot fit: a lower bound of the memory a synthetic image or a batch takes."""
    from .synthetic import SUPERSAMPLE

    total = memory_total() if total is None else total
    if not total:
        return
    d, o = cfg.data, cfg.optim
    sizes = [s.size for s in (d.synthetic, cfg.validate.synthetic) if s.count]
    needs = {"data.synthetic.size": 4 * (max(sizes, default=0) * SUPERSAMPLE) ** 2,  # one RGBA-backed canvas
             # HR target, prediction and their gradients in float32: a floor, the network's maps come on top
             "optim.batch_size": 4 * 3 * 4 * o.batch_size * d.patch_size ** 2}
    for key, need in needs.items():
        if need > total:
            raise ConfigError(f"{key} would need at least {need / 2**30:.1f} GiB of memory (this machine has "
                              f"{total / 2**30:.1f} GiB); lower {key}"
                              f"{' or data.patch_size' if key == 'optim.batch_size' else ''}.")


def tracked(folder: Path) -> bool:
    """Whether git tracks anything in this folder (False outside a repository or without git)."""
    try:
        out = subprocess.run(["git", "-C", str(folder), "ls-files", "--", "."], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def claim_run_dir(run_dir: Path) -> None:
    """Make run_dir zoo's: a new or empty folder (or one an earlier zoo filled with its own files) gets the mark;
    anything else, a tracked folder or `/`, is refused before a byte is written."""
    path = Path(run_dir)
    if (path / RUN_MARK).is_file() and not tracked(path):
        return
    why = _not_ours(path)
    if why:
        raise ConfigError(f"run_dir '{run_dir}' {why}; zoo train writes and prunes checkpoints only in a folder it "
                          "made. Give a new or empty folder (e.g. runs/NAME).")
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path / RUN_MARK, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:  # another rank of the same run was first
        pass


def _not_ours(path: Path) -> str:
    """Why `path` cannot become a run folder ('' when it can)."""
    if path.resolve() == Path(path.resolve().anchor):
        return "is the filesystem's root"
    if not os.path.lexists(path):
        return ""
    if path.is_symlink() or not path.is_dir():
        return "is not a folder (a file or a link)"
    names = [p.name for p in path.iterdir()]
    foreign = [n for n in names if not RUN_FILES.match(n)]
    if foreign:
        return f"holds files zoo did not write ({foreign[0]!r:.60} …)"
    if names and tracked(path):
        return "holds files tracked by git"
    return ""


def regular_or_new(path: Path, what: str) -> None:
    """An export path must be a regular file to replace, or a new name."""
    if os.path.lexists(path) and (path.is_symlink() or not stat.S_ISREG(os.lstat(path).st_mode)):
        raise ConfigError(f"{what} '{path}' exists and is not a regular file (a folder, link or device); zoo "
                          "writes exports only as regular files. Give another path.")


def check_export(cfg: Any, install: bool) -> None:
    """The export paths with --install: the right suffix, and regular files or new names."""
    e = cfg.export
    if not install:
        return
    if e.weights and not e.weights.endswith(".safetensors"):
        raise ConfigError(f"export.weights '{e.weights}' must end in .safetensors.")
    if e.card and not e.card.endswith((".yaml", ".yml")):
        raise ConfigError(f"export.card '{e.card}' must end in .yaml.")
    for value, what in ((e.weights, "export.weights"), (e.card, "export.card")):
        if value:
            regular_or_new(Path(value), what)


def regular_images(files: list[Path], where: str) -> list[Path]:
    """The regular files among `files`; a pipe, socket or device is never opened (it would block): warned and left out."""
    import sys

    kept = []
    for f in files:
        try:
            regular = stat.S_ISREG(os.stat(f).st_mode)
        except OSError:
            regular = False
        if regular:
            kept.append(f)
        else:
            print(f"zoo: warning: {where}: {f} is not a regular file (a pipe, socket, device or broken link); "
                  "left out.", file=sys.stderr)
    return kept
