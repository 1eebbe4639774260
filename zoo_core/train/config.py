"""`zoo train` configuration: nested dataclasses read from YAML; unknown keys are rejected by name."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import ConfigError


# sampling "active", as waifu2x's active_cropping: this share of the patches is the most detailed of this many
# random boxes, so fewer steps go to flat colour that bicubic already gets right
ACTIVE_RATE, ACTIVE_TRIES = 0.5, 10
AUGMENTS = (True, False, "flips")  # data.augment: dihedral, none, or horizontal flips only
# data.sampling → where the patches come from, as the card's recipe says it
SAMPLINGS = {
    "grid": "on a non-overlapping grid",  # the seed
    "random": "at random positions",  # a repeated image gives new crops each time
    "active": f"at random positions ({ACTIVE_RATE:.0%} of them the most detailed of {ACTIVE_TRIES} tries)",
}


@dataclass(kw_only=True)
class SyntheticConfig:
    """The built-in synthetic anime-style images: seeds seed … seed+count−1."""

    count: int = 0
    size: int = 256
    seed: int = 0


@dataclass(kw_only=True)
class DataConfig:
    """HR images (folders of PNG/JPEG, plus synthetic ones) cut into a grid of patches."""

    corpus: str = ""  # a prepared corpus (`zoo data prepare NAME`): its train split is used
    source_repeat: dict[str, int] = field(default_factory=dict)  # corpus source package -> repeat factor (0: left out)
    dirs: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)  # file names (not paths), in dirs and the corpus, never trained on
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    patch_size: int = 192  # HR patch side, as the seed
    max_patch_per_img: int = 16
    scales: list[float] = field(default_factory=lambda: [1.0])  # folder images also used shrunk by these factors
    repeat: int = 1  # each image from dirs counts this many times per epoch (weighs real images vs synthetic)
    dir_repeat: dict[str, int] = field(default_factory=dict)  # a folder of `dirs` -> its own repeat (mixes sources)
    sampling: str = "grid"  # grid: the seed's cells; random: as many boxes, anywhere; active: favour detail
    augment: Any = True  # true: random flips and 90° rotations (dihedral); "flips": horizontal flips only; false: none
    min_patch_std: float = 0.0  # redraw a patch whose HR std (0-255 scale) is below this: flat colour teaches nothing
    workers: int = 0  # DataLoader worker processes that make the LR patches


@dataclass(kw_only=True)
class NamedOptions:
    """A registered plugin by name plus its options."""

    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class ModelConfig:
    """An architecture id and its hyperparameters."""

    architecture: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    init: str = ""  # a starting point the model offers through init_weights(scheme); "" = PyTorch's default
    init_from: str = ""  # a .safetensors of this architecture to start from (fine-tuning), e.g. a card's weights
    init_from_subset: bool = False  # the model is a smaller variant: take the tensors it shares with init_from


@dataclass(kw_only=True)
class OptimConfig:
    """AdamW with linear warmup then cosine decay to min_lr."""

    steps: int = 1000
    batch_size: int = 16
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup_steps: int = 100
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    clip_grad: float = 0.0  # max gradient norm; 0 = off
    bf16: Any = False  # bfloat16 autocast for the forward pass: true, false, or "auto" (where the CPU computes bf16 natively)
    ema: float = 0.0  # EMA decay of the weights (e.g. 0.999); 0 = off
    checkpointing: bool = False  # use the model's forward_checkpoint to save memory
    channels_last: bool = False  # NHWC memory format: faster convolutions on many CPUs
    fused_adamw: bool = False  # torch's fused AdamW kernel (one pass over all parameters); off = today's for-loop AdamW
    foreach_ema: bool = False  # EMA as two torch._foreach ops over all tensors instead of a Python loop (same maths)
    seed: int = 0
    threads: int = 0  # torch intra-op threads; 0 = leave torch's default
    device: str = "cpu"


@dataclass(kw_only=True)
class ValidateConfig:
    """PSNR-Y against bicubic on held-out images every `every` steps."""

    every: int = 500
    corpus: str = ""  # a prepared corpus: `count` pictures of its val split, spread over its sources
    count: int = 16
    files: list[str] = field(default_factory=list)  # held-out image files
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    max_side: int = 256  # validation images are centre-cropped to this many HR pixels


@dataclass(kw_only=True)
class ExportConfig:
    """The final card and weights."""

    card_name: str = ""
    weights: str = ""  # where to write the weights (.safetensors)
    card: str = ""  # where to write the YAML card
    weights_ref: str = ""  # what the card's weights.file says (e.g. 'zoo_espcn7:weights/x.safetensors')
    noise_level: int = -1  # the card's task.noise_level
    variants: dict[str, Any] = field(default_factory=dict)  # the card's other task fields (e.g. style: art)
    description: str = ""
    license: str = "MIT"
    use_ema: bool = True


@dataclass(kw_only=True)
class TrainConfig:
    """Everything `zoo train` needs."""

    name: str = "run"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    degradation: NamedOptions = field(default_factory=lambda: NamedOptions(name="seed-jpeg"))
    loss: NamedOptions = field(default_factory=lambda: NamedOptions(name="weighted-mse"))
    optim: OptimConfig = field(default_factory=OptimConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    run_dir: str = "runs/run"
    checkpoint_every: int = 500
    log_every: int = 50
    export: ExportConfig = field(default_factory=ExportConfig)


def _convert(typ: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(typ):
        return from_dict(typ, value, where)
    origin = typing.get_origin(typ)
    if origin in (list, dict):
        if not isinstance(value, origin):
            raise ConfigError(f"'{where}' must be a {origin.__name__}, got {type(value).__name__} {value!r:.60}.")
        return value
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ in (int, float, str, bool) and (not isinstance(value, typ) or (typ is int and isinstance(value, bool))):
        raise ConfigError(f"'{where}' must be {typ.__name__}, got {type(value).__name__} {value!r:.60}.")
    return value


def from_dict(cls: Any, data: Any, where: str = "") -> Any:
    """Build dataclass `cls` from a mapping; a key it does not know is a ConfigError naming it."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"'{where or 'config'}' must be a mapping, got {type(data).__name__}.")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"Unknown config key '{prefix}{unknown[0]}'. Known keys{' in ' + where if where else ''}: "
            f"{', '.join(sorted(known))}."
        )
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def load_config(path: Path | str, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config; `overrides` like {'optim.steps': 10} are applied before validation."""
    from .guard import read_yaml, regular_or_new

    try:
        regular_or_new(Path(path), "Config")  # a FIFO named as the config would block the read
        data = read_yaml(Path(path).read_text(encoding="utf-8"), f"Config '{path}'") or {}
    except OSError as exc:
        raise ConfigError(f"Cannot read config '{path}' ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"Config '{path}' is not UTF-8 text. Save it as UTF-8.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config '{path}' must be a mapping of keys (model:, data:, optim: …), got a "
                          f"{type(data).__name__}.")
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for i, p in enumerate(parents):
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {dotted}: '{'.'.join(parents[:i + 1])}' is {node!r:.40}, not a group of "
                                  "keys. Check the key's spelling.")
        node[leaf] = value
    cfg = from_dict(TrainConfig, data)
    check(cfg)
    return cfg


def check_sampling(sampling: str) -> None:
    """data.sampling must name a known way to pick patches."""
    if sampling not in SAMPLINGS:
        raise ConfigError(f"data.sampling is '{sampling}'; expected one of {', '.join(SAMPLINGS)}.")


def check(cfg: TrainConfig) -> None:
    """Value checks that types alone cannot express."""
    o, d = cfg.optim, cfg.data
    if o.steps < 1 or o.batch_size < 1 or o.lr <= 0 or not 0 <= o.ema < 1 or o.warmup_steps < 0:
        raise ConfigError("optim: steps and batch_size must be >= 1, lr > 0, warmup_steps >= 0 and ema in [0, 1).")
    if d.patch_size < 8 or d.max_patch_per_img < 1 or d.repeat < 1:
        raise ConfigError("data: patch_size must be >= 8, max_patch_per_img >= 1 and repeat >= 1.")
    check_sampling(d.sampling)
    if d.augment not in AUGMENTS:
        raise ConfigError(f"data.augment is {d.augment!r}; give true (flips and rotations), \"flips\" or false.")
    if not 0 <= d.min_patch_std < 128:
        raise ConfigError(f"data.min_patch_std is {d.min_patch_std}; give a standard deviation in [0, 128) (e.g. 4).")
    unknown = sorted(set(d.dir_repeat) - set(d.dirs))
    if unknown or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in d.dir_repeat.values()):
        raise ConfigError(f"data.dir_repeat is {d.dir_repeat}; its keys must be folders listed in data.dirs and its "
                          "values whole numbers >= 1.")
    if not (isinstance(o.bf16, bool) or o.bf16 == "auto"):
        raise ConfigError(f"optim.bf16 is {o.bf16!r}; give true, false or auto (bf16 where the CPU has AMX/AVX512-BF16).")
    if not d.scales or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s <= 1 for s in d.scales):
        raise ConfigError(f"data.scales is {d.scales}; give factors in (0, 1], e.g. [1.0, 0.75, 0.5].")
    if not d.dirs and not d.corpus and d.synthetic.count < 1:
        raise ConfigError("data: name a corpus (data.corpus), folders (data.dirs) or data.synthetic.count >= 1.")
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in d.source_repeat.values()):
        raise ConfigError(f"data.source_repeat is {d.source_repeat}; give whole numbers >= 0 per source package "
                          "(0 leaves that source out).")
    if cfg.validate.count < 1:
        raise ConfigError(f"validate.count is {cfg.validate.count}; give at least 1.")
    if not cfg.model.architecture:
        raise ConfigError("model.architecture is required (e.g. espcn7). Run 'zoo list' to see them.")
    if cfg.model.init and cfg.model.init_from:
        raise ConfigError(f"model.init ('{cfg.model.init}') and model.init_from ('{cfg.model.init_from}') both set; "
                          "a run starts from one of them. Remove one.")
    from .guard import check_memory, check_numbers

    check_numbers(cfg)  # every number through zoo's one validator, the device, the export name
    check_memory(cfg)


def use_bf16(o: OptimConfig) -> bool:
    """Whether the forward pass runs under bf16 autocast: asked for, or 'auto' on hardware that computes it natively."""
    if o.bf16 != "auto":
        return bool(o.bf16)
    from ..cpu_features import native_bf16

    # emulated bf16 is 10-30x slower than fp32 on an AVX2 CPU; GPUs zoo trains on compute it natively
    return not o.device.startswith("cpu") or native_bf16()


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain data (for checkpoints and cards)."""
    return dataclasses.asdict(cfg)

