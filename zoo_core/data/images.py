"""Pictures as the corpus, the trainer and `zoo eval` see them."""
from __future__ import annotations

from PIL import Image


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB; transparency is composited over white, as the picture is usually shown."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    return img.convert("RGB")
