"""Animated GIF, WebP and PNG: every frame upscaled; durations, loop count and disposal kept."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from PIL import ImageSequence

from ..errors import ImageError
from .imageio import atomic_write, opened
from .modes import Picture, has_transparency, picture_from_pil, pil_from_picture, to_8bit


@dataclass
class Animation:
    """Full-canvas frames (as Pillow composes them) and their timing."""

    frames: list[Picture]
    durations: list[int]
    disposals: list[int] | None
    loop: int | None
    source_format: str  # GIF, WEBP or PNG

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the canvas."""
        return self.frames[0].size


def is_animated(path: Path, *, limit: int | None = None) -> bool:
    """Whether the file holds more than one frame."""
    with opened(path, limit) as im:
        return bool(getattr(im, "is_animated", False)) and int(getattr(im, "n_frames", 1)) > 1


def read_animation(path: Path, *, limit: int | None = None) -> Animation:
    """Every frame of an animated file, composed onto the canvas, with its duration and disposal."""
    with opened(path, limit) as im:
        fmt = im.format or "GIF"
        loop = im.info.get("loop")
        frames, durations, disposals = [], [], []
        rgba = False
        raw = []
        for frame in ImageSequence.Iterator(im):
            frame.load()
            rgba = rgba or has_transparency(frame)
            durations.append(int(round(float(frame.info.get("duration", 100) or 0))))
            disposals.append(int(getattr(frame, "disposal_method", frame.info.get("disposal", 0)) or 0))
            raw.append(frame.copy())
        for frame in raw:
            frames.append(picture_from_pil(frame.convert("RGBA" if rgba else "RGB")))
        keep_disposal = fmt in ("GIF", "PNG")
        return Animation(frames, durations, disposals if keep_disposal else None, loop, fmt)


def write_animation(anim: Animation, path: Path, *, fmt: str, quality: int = 95) -> None:
    """Write all frames atomically as GIF, WebP or APNG."""
    if fmt in ("JPEG", "HEIF", "JXL"):
        raise ImageError(f"{path}: {fmt} cannot hold an animation here; use --format gif, webp, png or avif.")
    images = [pil_from_picture(Picture(pixels=to_8bit(p.pixels))) for p in anim.frames]
    opts: dict[str, object] = {"save_all": True, "append_images": images[1:], "duration": anim.durations}
    if anim.loop is not None:
        opts["loop"] = anim.loop
    elif fmt == "WEBP":
        opts["loop"] = 1  # WebP's default of 0 would loop forever a file that played once
    if anim.disposals is not None and fmt in ("GIF", "PNG"):
        opts["disposal"] = anim.disposals
    if fmt == "PNG":
        opts["blend"] = 0  # frames are full canvases: replace, do not blend over the previous one
    if fmt == "WEBP":
        opts["quality"] = quality
        opts["lossless"] = quality >= 100

    def write(f: BinaryIO) -> None:
        try:
            images[0].save(f, format=fmt, **opts)
        except (ValueError, KeyError, TypeError) as exc:
            raise ImageError(f"cannot encode animation as {fmt} ({exc}).") from None
    try:
        atomic_write(path, write)
    except ImageError as err:
        raise err if str(err).startswith(str(path)) else ImageError(f"{path}: {err}") from None


def map_frames(anim: Animation, fn: Callable[[Picture], Picture]) -> Animation:
    """A new animation with `fn` applied to every frame."""
    return Animation([fn(p) for p in anim.frames], list(anim.durations),
                     None if anim.disposals is None else list(anim.disposals), anim.loop, anim.source_format)
