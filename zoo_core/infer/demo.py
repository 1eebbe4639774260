"""A small generated anime-style picture, so `zoo upscale --demo` needs no input file and no network."""
from __future__ import annotations

from PIL import Image, ImageDraw


def demo_image(size: int = 128) -> Image.Image:
    """Flat colours, dark outlines and a soft gradient: the kind of art waifu2x is made for."""
    img = Image.new("RGB", (size, size), (250, 240, 225))
    d = ImageDraw.Draw(img)
    for y in range(size // 2, size):  # soft shading on the ground
        v = 220 - (y - size // 2)
        d.line([(0, y), (size, y)], fill=(v, v + 10, 255 - (y - size // 2)))
    d.ellipse([size * 0.2, size * 0.15, size * 0.8, size * 0.75], fill=(255, 214, 190), outline=(40, 30, 30), width=3)
    d.ellipse([size * 0.33, size * 0.35, size * 0.43, size * 0.5], fill=(60, 120, 200), outline=(20, 20, 40), width=2)
    d.ellipse([size * 0.57, size * 0.35, size * 0.67, size * 0.5], fill=(60, 120, 200), outline=(20, 20, 40), width=2)
    d.arc([size * 0.4, size * 0.5, size * 0.6, size * 0.65], 20, 160, fill=(120, 40, 40), width=2)
    d.polygon([(size * 0.15, size * 0.3), (size * 0.5, 0), (size * 0.85, size * 0.3)], fill=(90, 200, 190), outline=(30, 60, 60))
    d.text((4, size - 14), "zoo", fill=(20, 20, 20))
    return img
