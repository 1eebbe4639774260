"""What one web job runs: pick the card for the chosen noise level, load it once, upscale in passes."""
from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from PIL import Image

from ..cards import Card
from ..errors import ZooError
from ..infer.tiler import DEFAULT_TILE

MAX_SCALE = 8
Loader = Callable[[str], Any]
Tick = Callable[[int], None]


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """The user's choices for one image."""

    model: str
    noise: int
    scale: int
    tta: bool


def _api() -> Any:
    import zoo  # the public API; imported late so `zoo_core.serve` loads without side effects

    return zoo


def family(card: Card) -> list[Card]:
    """Cards that differ from `card` only in noise level (same architecture, style and scale)."""
    return [c for c in _api().list_models() if (c.architecture, c.style, c.scale) == (card.architecture, card.style, card.scale)]


def noise_levels(card: Card) -> list[int]:
    """The noise levels offered for a card: those of its family (-1 means no denoising)."""
    return sorted({c.noise_level for c in family(card)})


def scale_options(card: Card) -> list[int]:
    """Powers of the model's scale up to MAX_SCALE, reached by repeated passes."""
    if card.scale <= 1:
        return [1]
    out, s = [], card.scale
    while s <= MAX_SCALE:
        out.append(s)
        s *= card.scale
    return out


def model_entry(card: Card) -> dict[str, Any]:
    """A card as the page needs it."""
    return {
        "name": card.name, "architecture": card.architecture, "scale": card.scale,
        "noise_level": card.noise_level, "style": card.style, "description": card.description,
        "license": card.license, "noise_levels": noise_levels(card), "scales": scale_options(card),
    }


def list_entries() -> list[dict[str, Any]]:
    """Every registered model, so third-party plugins appear with no change here."""
    return [model_entry(c) for c in _api().list_models()]


def pass_cards(spec: JobSpec) -> list[str]:
    """Card names for each pass: the chosen noise level first, then the family's plain upscaler."""
    card = _api().get_card(spec.model)
    fam = family(card)
    first = next((c for c in fam if c.noise_level == spec.noise), None)
    if first is None:
        levels = ", ".join(str(n) for n in noise_levels(card))
        raise ZooError(f"Model '{card.name}' has no noise level {spec.noise} variant; choose one of: {levels}.")
    options = scale_options(card)
    if spec.scale not in options:
        raise ZooError(f"Scale {spec.scale} is not offered for '{card.name}'; choose one of: "
                       f"{', '.join(map(str, options))}.")
    passes = 1 if card.scale <= 1 else round(math.log(spec.scale, card.scale))
    # Denoise once; later passes only enlarge (as waifu2x does), with the noise-free sibling if any.
    plain = next((c for c in fam if c.noise_level == -1), first)
    return [first.name] + [plain.name] * (passes - 1)


def has_alpha(img: Image.Image) -> bool:
    """Whether the model will also run on an alpha channel (it does so only for a non-opaque one)."""
    if img.mode not in ("RGBA", "LA", "PA") and not (img.mode == "P" and "transparency" in img.info):
        return False
    return img.convert("RGBA").getchannel("A").getextrema()[0] < 255


def tile_count(width: int, height: int, tile: int | None) -> int:
    """How many tiles the tiler cuts an image into."""
    t = max(1, tile or DEFAULT_TILE)
    return math.ceil(width / t) * math.ceil(height / t)


def total_tiles(img: Image.Image, spec: JobSpec, scales: list[int], tile: int | None) -> int:
    """Tiles over all passes (×8 with TTA, ×2 with alpha): the denominator of the progress bar."""
    per_image = (8 if spec.tta else 1) * (2 if has_alpha(img) else 1)
    total, (w, h) = 0, img.size
    for s in scales:
        total += tile_count(w, h, tile) * per_image
        w, h = w * s, h * s
    return max(1, total)


def counting(up: Any, tick: Tick) -> Any:
    """A copy of the Upscaler whose runner reports each tile done; the original if it has no runner."""
    inner = getattr(up, "runner", None)
    if inner is None or not dataclasses.is_dataclass(up):
        return up

    def runner(batch: Any) -> Any:
        out = inner(batch)
        tick(int(batch.shape[0]))
        return out

    return dataclasses.replace(up, runner=runner)


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
    """Upscale `img` as `spec` asks; reports the tile total once, then each tile done."""
    names = pass_cards(spec)
    models = [cache.get(n) for n in names]
    scales = [int(getattr(m, "scale", 1)) for m in models]
    on_total(total_tiles(img, spec, scales, getattr(models[0], "tile_size", None)))
    out = img
    for up in models:
        out = counting(up, tick).upscale(out, tta=spec.tta)
    return out, names
