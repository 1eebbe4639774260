"""Reading and writing images: modes, EXIF orientation, atomic writes."""
from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError
from ..weights.safetensors_io import atomic_write_bytes
from .convert import pil_to_array

if TYPE_CHECKING:
    from .upscaler import Upscaler


def read_image(path: Path) -> Image.Image:
    """Open and fully decode an image, applying its EXIF orientation; ImageError on anything bad."""
    try:
        with Image.open(path) as im:
            im.load()
            return ImageOps.exif_transpose(im) or im
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file.") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read.") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{path}: cannot decode image ({exc}).") from None


def upscale_pil(up: "Upscaler", img: Image.Image, *, tile_size: int | None, tta: bool) -> Image.Image:
    """Upscale a PIL image, keeping alpha when it carries information."""
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    rgb = img.convert("RGBA" if has_alpha else "RGB")
    arr = pil_to_array(rgb)
    if has_alpha and bool(np.all(arr[:, :, 3] == 255)):
        arr = arr[:, :, :3]  # fully opaque alpha carries nothing
    out = up.upscale_array(arr, tile_size=tile_size, tta=tta)
    return Image.fromarray(out, "RGBA" if out.shape[2] == 4 else "RGB")


def save_image(img: Image.Image, path: Path, *, fmt: str | None = None, quality: int = 95) -> None:
    """Encode in memory, then write atomically."""
    fmt = (fmt or path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG")
    if fmt == "JPEG" and img.mode in ("RGBA", "LA", "P"):
        raise ImageError(f"{path}: JPEG cannot store transparency. Use --format png or webp.")
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    except (KeyError, ValueError, OSError) as exc:
        raise ImageError(f"{path}: cannot encode as {fmt} ({exc}).") from None
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise ImageError(f"{path}: cannot write output ({exc.strerror or exc}).") from None
