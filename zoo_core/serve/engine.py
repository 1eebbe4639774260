"""What one web job runs, planned as `zoo upscale` plans it (infer/scaling, infer/batch): same cards, limits, tiles."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from PIL import Image

from ..cards import Card
from ..errors import ZooError
from ..infer.scaling import MAX_SCALE, PassPlan, plan_cards

Loader = Callable[[str], Any]
Tick = Callable[[int], None]
TEST_ONLY = "test-only"  # a card tag: a model for tests (example-tiny-nearest), not offered on the page
FORMATS = {"png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp"), "jpeg": ("JPEG", "image/jpeg")}
SUGGESTED_SCALES = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0)


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """The user's choices for one image."""

    model: str
    noise: int | None
    scale: float
    tta: bool
    format: str = "png"


def _api() -> Any:
    import zoo  # the public API; imported late so `zoo_core.serve` loads without side effects

    return zoo


def offered(card: Card, *, test_models: bool = False) -> bool:
    """Whether the page offers a card: trained, and not tagged test-only (unless asked for)."""
    return card.trained and (test_models or TEST_ONLY not in card.tags)


def family(card: Card) -> list[Card]:
    """Trained cards that differ from `card` only in noise level (same architecture, style and scale)."""
    key = (card.architecture, card.style, card.scale)
    return [c for c in _api().list_models() if (c.architecture, c.style, c.scale) == key and c.trained]


def noise_levels(card: Card) -> list[int]:
    """The noise menu for a card: its family's registered noise levels (-1 means no denoising)."""
    return sorted({c.noise_level for c in family(card)} | {card.noise_level})


def scale_options(card: Card) -> list[float]:
    """Suggested scales (any factor from 1 to the CLI's MAX_SCALE is accepted); 1 only for a scale-1 model."""
    if card.scale <= 1:
        return [1.0]
    return sorted({s for s in SUGGESTED_SCALES if s <= MAX_SCALE} | {float(card.scale)})


def model_entry(card: Card) -> dict[str, Any]:
    """A card as the page needs it."""
    return {
        "name": card.name, "architecture": card.architecture, "scale": card.scale,
        "noise_level": card.noise_level, "style": card.style, "description": card.description,
        "license": card.license, "noise_levels": noise_levels(card), "scales": scale_options(card),
        "variants": {c.noise_level: c.name for c in family(card)},
    }


def _representative(fam: list[Card], default: str) -> Card:
    """The card that stands for a family in the model menu: the default model, else the plain one."""
    return min(fam, key=lambda c: (c.name != default, c.noise_level != -1, c.noise_level, c.name))


def list_entries(*, test_models: bool = False) -> list[dict[str, Any]]:
    """One menu entry per family (noise variants fold into its noise menu), third-party plugins included."""
    default = default_name()
    groups: dict[tuple, list[Card]] = {}
    for c in _api().list_models():
        if offered(c, test_models=test_models):
            groups.setdefault((c.architecture, c.style, c.scale), []).append(c)
    return [model_entry(_representative(fam, default)) for fam in groups.values()]


def default_name() -> str:
    """The CLI's default model (`zoo upscale` without -m), '' when none is installed."""
    from ..api import default_model

    try:
        return str(default_model().name)
    except ZooError:
        return ""


def plan(spec: JobSpec) -> PassPlan:
    """The CLI's plan for this job: which card denoises, which enlarges, how many passes."""
    card = _api().get_card(spec.model)
    if card.scale <= 1 and spec.scale != 1:
        raise ZooError(f"Model '{card.name}' does not enlarge (scale 1); choose scale 1 or an upscaling model.")
    if spec.noise is not None and spec.noise not in noise_levels(card):
        levels = ", ".join(str(n) for n in noise_levels(card))
        raise ZooError(f"Model '{card.name}' has no noise level {spec.noise} variant; choose one of: {levels}.")
    return plan_cards(_api().list_models(), card, noise=spec.noise, style=None, scale=spec.scale)


def pass_cards(spec: JobSpec) -> list[str]:
    """Card names for each pass: the chosen noise level first, then the family's plain upscaler."""
    p = plan(spec)
    return [p.first.name] + [p.rest.name] * (p.passes - 1)


def has_alpha(img: Image.Image) -> bool:
    """Whether the model will also run on an alpha channel (it does so only for a non-opaque one)."""
    if img.mode not in ("RGBA", "LA", "PA") and not (img.mode == "P" and "transparency" in img.info):
        return False
    return img.convert("RGBA").getchannel("A").getextrema()[0] < 255


class ModelCache:
    """Loaded models by name, least recently used dropped first; loading happens once per name."""

    def __init__(self, *, size: int = 4, loader: Loader | None = None) -> None:
        self._size = max(1, size)
        self._loader = loader
        self._models: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was actually loaded (tests check caching)

    def get(self, name: str) -> Any:
        """The Upscaler for a card name, loading it on first use."""
        with self._lock:  # loads are rare; holding the lock keeps two jobs from loading one model twice
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
            up = (self._loader or _api().load)(name)
            self.loads += 1
            self._models[name] = up
            while len(self._models) > self._size:
                self._models.popitem(last=False)
            return up


def run_job(img: Image.Image, spec: JobSpec, cache: ModelCache, *, on_total: Tick, tick: Tick) -> tuple[Image.Image, list[str]]:
    """Upscale `img` as `zoo upscale` would; reports the tile total once, then each tile done."""
    from ..infer.batch import Options, count_tiles, upscale_one
    from ..infer.modes import drop_opaque_alpha, picture_from_pil, pil_from_picture

    p = plan(spec)
    first = cache.get(p.first.name)
    rest = first if p.rest.name == p.first.name else cache.get(p.rest.name)
    opts = Options(scale=spec.scale, tta=spec.tta)
    pic = picture_from_pil(img)
    on_total(max(1, count_tiles(drop_opaque_alpha(pic), first, opts)))
    out = upscale_one(pic, first, rest, opts, tick)
    return pil_from_picture(out), [p.first.name] + [p.rest.name] * (p.passes - 1)
