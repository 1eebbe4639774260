"""HR → LR degradations: the seed's bicubic + JPEG, and a waifu2x-like randomised one."""
from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageFilter

from ..errors import ConfigError
from ..interfaces import DegradationSpec

FILTERS = {
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
# waifu2x-like JPEG quality ranges per noise level, and how many passes (1..max_passes).
WAIFU2X_JPEG = {0: ((85, 95), 1), 1: ((65, 90), 2), 2: ((40, 75), 2), 3: ((20, 60), 3)}


def crop_to_multiple(img: Image.Image, scale: int) -> Image.Image:
    """Drop right/bottom pixels so both sides divide by `scale`."""
    w, h = img.size
    return img if (w % scale, h % scale) == (0, 0) else img.crop((0, 0, w - w % scale, h - h % scale))


def jpeg(img: Image.Image, quality: int, subsampling: int = 2) -> Image.Image:
    """Re-encode as JPEG in memory (subsampling: 0 = 4:4:4, 2 = 4:2:0) and decode again."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=int(quality), subsampling=subsampling)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def _check_level(noise_level: int, low: int) -> int:
    if isinstance(noise_level, bool) or not isinstance(noise_level, int) or not low <= noise_level <= 3:
        raise ConfigError(f"noise_level must be an integer in {low}..3, got {noise_level!r}.")
    return noise_level


@dataclass(frozen=True, kw_only=True)
class SeedJpeg:
    """The seed's ImageAugment: shrink with `filter`, then JPEG at quality 100 − 10·noise_level (0: none)."""

    noise_level: int = 1
    filter: str = "bicubic"
    name: str = "seed-jpeg"

    def __post_init__(self) -> None:
        _check_level(self.noise_level, 0)
        if self.filter not in FILTERS:
            raise ConfigError(f"Unknown filter {self.filter!r}; use one of {', '.join(FILTERS)}.")

    def __call__(self, hr: Image.Image, *, scale: int, seed: int) -> tuple[Image.Image, Image.Image]:
        """Deterministic: `seed` is accepted for the interface and not needed."""
        hr = crop_to_multiple(hr.convert("RGB"), scale)
        lr = hr.resize((hr.width // scale, hr.height // scale), FILTERS[self.filter])
        if self.noise_level > 0:
            lr = jpeg(lr, 100 - 10 * self.noise_level)
        return lr, hr


@dataclass(frozen=True, kw_only=True)
class Waifu2xDegradation:
    """Random downscale filter, mild blur, then 1..n JPEG passes (noise_level −1: no JPEG)."""

    noise_level: int = 1
    blur_probability: float = 0.5
    max_blur: float = 0.6  # Gaussian radius in HR pixels: mild, so lines stay crisp
    name: str = "waifu2x"

    def __post_init__(self) -> None:
        _check_level(self.noise_level, -1)
        if not 0 <= self.blur_probability <= 1 or self.max_blur < 0:
            raise ConfigError("blur_probability must be in 0..1 and max_blur >= 0.")

    def __call__(self, hr: Image.Image, *, scale: int, seed: int) -> tuple[Image.Image, Image.Image]:
        """Same (image, scale, seed) → same LR, byte for byte."""
        rng = random.Random(f"waifu2x-degradation:{seed}")
        hr = crop_to_multiple(hr.convert("RGB"), scale)
        src = hr
        if self.max_blur > 0 and rng.random() < self.blur_probability:
            src = hr.filter(ImageFilter.GaussianBlur(rng.uniform(0.1, self.max_blur)))
        lr = src.resize((hr.width // scale, hr.height // scale), FILTERS[rng.choice(sorted(FILTERS))])
        if self.noise_level >= 0:
            (qlo, qhi), max_passes = WAIFU2X_JPEG[self.noise_level]
            for _ in range(rng.randint(1, max_passes)):
                lr = jpeg(lr, rng.randint(qlo, qhi), subsampling=rng.choice([0, 2]))
        return lr, hr


def builtin_degradations() -> list[DegradationSpec]:
    """The specs the built-in plugin registers."""
    return [
        DegradationSpec(
            name="seed-jpeg", create=SeedJpeg, options={"noise_level": 1, "filter": "bicubic"},
            description="The seed's ImageAugment: bicubic shrink, JPEG at quality 100−10·noise_level (0: none).",
        ),
        DegradationSpec(
            name="waifu2x", create=Waifu2xDegradation,
            options={"noise_level": 1, "blur_probability": 0.5, "max_blur": 0.6},
            description="Random downscale filter, mild blur, 1–3 JPEG passes, random 4:2:0/4:4:4 chroma.",
        ),
    ]
