"""A built-in synthetic anime-style dataset: flat colours, dark outlines, cel and soft shading,
hair strands, hatching, screentone and text, drawn at 2× and shrunk so edges are antialiased."""
from __future__ import annotations

import colorsys
import math
import random

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

SUPERSAMPLE = 2  # drawn at 2× then shrunk with Lanczos: edges look like finished digital art


def _colour(rng: random.Random, *, light: bool | None = None) -> tuple[int, int, int]:
    """A pleasant anime palette colour: moderately saturated, mostly light."""
    h = rng.random()
    s = rng.uniform(0.15, 0.8)
    v = rng.uniform(0.75, 1.0) if (light if light is not None else rng.random() < 0.75) else rng.uniform(0.3, 0.75)
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _shade(c: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    """The colour scaled by `f` (shadow < 1 < highlight), clipped."""
    return tuple(max(0, min(255, int(v * f))) for v in c)  # type: ignore[return-value]


def _outline_colour(rng: random.Random, fill: tuple[int, int, int]) -> tuple[int, int, int]:
    return (rng.randint(0, 40),) * 3 if rng.random() < 0.6 else _shade(fill, rng.uniform(0.15, 0.45))


def _blob(rng: random.Random, cx: float, cy: float, r: float, n: int = 48) -> list[tuple[float, float]]:
    """A smooth closed random shape: radius modulated by a few low-frequency sines."""
    k = [(rng.uniform(0, 0.35) / (i + 1), rng.uniform(0, 2 * math.pi)) for i in range(1, 4)]
    sx, sy = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        rr = r * (1 + sum(a * math.sin((j + 2) * t + p) for j, (a, p) in enumerate(k)))
        pts.append((cx + sx * rr * math.cos(t), cy + sy * rr * math.sin(t)))
    return pts


def _curve(rng: random.Random, w: int, h: int, length: float) -> list[tuple[float, float]]:
    """A quadratic Bézier stroke (a hair strand, a fold)."""
    x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
    a = rng.uniform(0, 2 * math.pi)
    x2, y2 = x0 + length * math.cos(a), y0 + length * math.sin(a)
    bend = rng.uniform(-0.5, 0.5) * length
    x1, y1 = (x0 + x2) / 2 - bend * math.sin(a), (y0 + y2) / 2 + bend * math.cos(a)
    return [((1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t * t * x2, (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t * t * y2)
            for t in (i / 24 for i in range(25))]


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    kind = rng.random()
    if kind < 0.4:
        return Image.new("RGB", (w, h), _colour(rng, light=True))
    if kind < 0.8:  # vertical/horizontal gradient (sky, wall)
        c0, c1 = np.array(_colour(rng, light=True), float), np.array(_colour(rng), float)
        t = np.linspace(0, 1, h if rng.random() < 0.7 else w)[:, None]
        line = (c0 * (1 - t) + c1 * t).astype(np.uint8)
        arr = np.repeat(line[:, None, :], w, 1) if line.shape[0] == h else np.repeat(line[None, :, :], h, 0)
        return Image.fromarray(np.ascontiguousarray(arr.reshape(h, w, 3)))
    img = Image.new("RGB", (w, h), _colour(rng, light=True))  # blocky geometric background
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 12)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        d.rectangle([x, y, x + rng.uniform(10, w / 2), y + rng.uniform(5, h / 4)], fill=_colour(rng, light=True))
    return img


def _pattern_mask(rng: random.Random, w: int, h: int, kind: str) -> Image.Image:
    """Hatching lines or a screentone dot grid as an 'L' mask."""
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    step = rng.uniform(5, 14)
    if kind == "hatch":
        a = rng.uniform(0, math.pi)
        dx, dy = math.cos(a), math.sin(a)
        width = rng.randint(1, 3)
        n = int((w + h) / step) + 2
        for i in range(-n, n):
            ox, oy = w / 2 - dy * i * step, h / 2 + dx * i * step
            d.line([(ox - dx * (w + h), oy - dy * (w + h)), (ox + dx * (w + h), oy + dy * (w + h))], fill=255, width=width)
    else:
        r = rng.uniform(0.15, 0.4) * step
        for j in range(int(h / step) + 2):
            off = step / 2 if j % 2 else 0
            for i in range(int(w / step) + 2):
                x, y = i * step + off, j * step
                d.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return m


def _shape(img: Image.Image, rng: random.Random, scale: float) -> None:
    """One outlined flat-coloured object with cel shading, maybe a soft gradient, hatch or tone."""
    w, h = img.size
    fill = _colour(rng)
    pts = _blob(rng, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.08, 0.35) * min(w, h))
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(pts, fill=255)
    img.paste(fill, (0, 0), mask)
    if rng.random() < 0.7:  # hard cel shadow: the shape minus a shifted copy of itself
        sx, sy = rng.uniform(-0.2, 0.2) * w, rng.uniform(-0.2, 0.2) * h
        shifted = Image.new("L", (w, h), 0)
        ImageDraw.Draw(shifted).polygon([(x + sx, y + sy) for x, y in pts], fill=255)
        shadow = ImageChops.subtract(mask, shifted)
        img.paste(_shade(fill, rng.uniform(0.6, 0.85)), (0, 0), shadow)
    if rng.random() < 0.35:  # soft airbrush shading
        soft = Image.new("L", (w, h), 0)
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.3) * min(w, h)
        ImageDraw.Draw(soft).ellipse([x - r, y - r, x + r, y + r], fill=rng.randint(80, 200))
        soft = ImageChops.multiply(soft.filter(ImageFilter.GaussianBlur(r / 2)), mask)
        img.paste(_shade(fill, rng.choice([0.6, 1.3])), (0, 0), soft)
    if rng.random() < 0.3:
        pattern = ImageChops.multiply(_pattern_mask(rng, w, h, rng.choice(["hatch", "tone"])), mask)
        img.paste(_shade(fill, rng.uniform(0.3, 0.7)), (0, 0), pattern)
    width = max(1, int(rng.choice([1, 2, 2, 3, 4, 6, 8]) * scale))
    ImageDraw.Draw(img).line(pts + pts[:1], fill=_outline_colour(rng, fill), width=width, joint="curve")


def _strands(img: Image.Image, rng: random.Random, scale: float) -> None:
    """A bunch of thin curved strokes (hair, folds), sometimes tapering."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    colour = _outline_colour(rng, _colour(rng))
    length = rng.uniform(0.2, 0.8) * min(w, h)
    for _ in range(rng.randint(2, 10)):
        d.line(_curve(rng, w, h, length * rng.uniform(0.6, 1.2)), fill=colour,
               width=max(1, int(rng.choice([1, 1, 2, 3]) * scale)), joint="curve")


def _eye(img: Image.Image, rng: random.Random, scale: float) -> None:
    """An ellipse with iris, pupil and white highlights."""
    w, h = img.size
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    rx, ry = rng.uniform(6, 24) * scale, rng.uniform(8, 32) * scale
    d = ImageDraw.Draw(img)
    d.ellipse([x - rx, y - ry, x + rx, y + ry], fill=(250, 250, 250), outline=(20, 20, 20), width=max(1, int(2 * scale)))
    iris = _colour(rng, light=False)
    d.ellipse([x - rx * 0.7, y - ry * 0.7, x + rx * 0.7, y + ry * 0.8], fill=iris)
    d.ellipse([x - rx * 0.3, y - ry * 0.3, x + rx * 0.3, y + ry * 0.4], fill=_shade(iris, 0.3))
    hx, hy = x - rx * 0.3, y - ry * 0.35
    d.ellipse([hx - rx * 0.18, hy - ry * 0.15, hx + rx * 0.18, hy + ry * 0.15], fill=(255, 255, 255))


def _text(img: Image.Image, rng: random.Random, scale: float) -> None:
    w, h = img.size
    size = int(rng.uniform(8, 28) * scale)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!?"
    s = "".join(rng.choice(letters) for _ in range(rng.randint(2, 12)))
    dark = rng.random() < 0.7
    ImageDraw.Draw(img).text(
        (rng.uniform(0, w * 0.7), rng.uniform(0, h * 0.9)), s, font=font,
        fill=(rng.randint(0, 50),) * 3 if dark else (255, 255, 255),
        stroke_width=0 if dark else max(1, int(scale)), stroke_fill=(20, 20, 20),
    )


def synthetic_image(seed: int, size: int = 256) -> Image.Image:
    """One deterministic anime-style RGB image of `size`×`size` pixels."""
    rng = random.Random(f"zoo-synthetic:{seed}")
    big = size * SUPERSAMPLE
    img = _background(rng, big, big)
    painters = [(_shape, 0.55), (_strands, 0.2), (_eye, 0.08), (_text, 0.17)]
    for _ in range(rng.randint(6, 16)):
        painter = rng.choices([p for p, _ in painters], weights=[wt for _, wt in painters])[0]
        painter(img, rng, SUPERSAMPLE / 2 * rng.uniform(0.7, 1.6))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def synthetic_images(count: int, *, size: int = 256, seed: int = 0) -> list[Image.Image]:
    """`count` images with seeds seed, seed+1, …: disjoint seed ranges give disjoint images."""
    return [synthetic_image(seed + i, size) for i in range(count)]
