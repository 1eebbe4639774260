"""Reading and writing images: pixel limits, EXIF orientation, 16-bit, metadata, atomic writes."""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ..errors import ImageError
from . import formats
from .formats import FORMATS, READS, SUFFIX, WRITES  # noqa: F401  (re-exported: jobs, serve)
from .modes import Picture, picture_from_pil, pil_from_picture, to_8bit
from .png16 import is_16bit_colour, read_png16, write_png16

DEFAULT_MAX_PIXELS = 100_000_000


MAX_LIMIT = 10**12  # a million megapixels: beyond any memory, so beyond any real limit


def max_pixels(given: int | None = None) -> int:
    """The decoded-pixel limit: the argument, else $ZOO_MAX_PIXELS, else 100 megapixels."""
    from ..numbers import env_number, number

    hint = "Give a number of pixels, e.g. 200000000."
    if given is not None:
        return int(number("--max-pixels", given, lo=1, hi=MAX_LIMIT, hint=hint, error=ImageError))
    return int(env_number("ZOO_MAX_PIXELS", DEFAULT_MAX_PIXELS, lo=1, hi=MAX_LIMIT, hint=hint, error=ImageError))


def quiet_pillow() -> None:
    """No stray lines from Pillow (warnings such as "Corrupt EXIF data", log records such as "More samples
    per pixel…") on files it then reads or refuses: zoo's own one line says it all. For the CLI only."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", module=r"PIL\.")
    logging.getLogger("PIL").addHandler(logging.NullHandler())  # stops Python's last-resort stderr printing


# What Pillow's decoders raise on damaged files besides OSError: each is a bad file, never a zoo bug.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, struct.error, EOFError, IndexError, TypeError, KeyError,
                 RuntimeError,  # pillow-heif and the JPEG XL plugin raise it on damaged files
                 ZeroDivisionError, OverflowError, AttributeError, AssertionError, RecursionError)


@contextlib.contextmanager
def opened(path: Path, limit: int | None = None) -> Iterator[Image.Image]:
    """Image.open with clear errors and our own pixel limit in place of Pillow's fixed one."""
    path = Path(path)
    limit = max_pixels(limit)
    formats.register()
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # we check the limit ourselves, with a message saying how to raise it
    try:
        try:
            st = path.stat()
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(path)
            if not stat.S_ISREG(st.st_mode):  # a pipe or a device would block or never end
                raise ImageError(f"{path}: not a regular file (a pipe, socket or device); give image files.")
            if st.st_size == 0:
                raise ImageError(f"{path}: empty file (0 bytes).")
            im = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
        with im:
            frames = int(getattr(im, "n_frames", 1) or 1)
            if im.width * im.height * frames > limit:
                raise ImageError(
                    f"{path}: {im.width}×{im.height}" + (f"×{frames} frames" if frames > 1 else "")
                    + f" is more than the limit of {limit:,} pixels (a decompression bomb?). "
                    "If you trust it, raise the limit with --max-pixels N or ZOO_MAX_PIXELS=N."
                )
            yield im
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder; pass -r to process folders recursively, or the folder itself.") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied; cannot read it.") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file zoo can read (it reads {READS}).") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError(f"{path}: is a symbolic link that loops back to itself; remove or repair the link.") from None
        if exc.errno is not None and exc.filename is not None:  # the filesystem, not the file's content
            from ..atomic import fs_reason

            raise ImageError(f"{path}: cannot read it {fs_reason(exc)}") from None
        raise ImageError(f"{path}: cannot decode image, it may be truncated or corrupt ({_short(exc)}).") from None
    except DECODE_ERRORS as exc:
        raise ImageError(f"{path}: cannot decode image, it may be truncated or corrupt ({_short(exc)}).") from None


def _short(exc: BaseException) -> str:
    """The exception's text, else its type name, cut to one short phrase."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an HxWxC array, as ImageOps.exif_transpose does to a PIL image."""
    ops: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops[orientation](arr)) if orientation in ops else arr


def read_picture(path: Path, *, limit: int | None = None) -> Picture:
    """Decode a still image fully (first frame of an animation), EXIF orientation applied."""
    with opened(path, limit) as im:
        try:
            with open(path, "rb") as f:
                head = f.read(32)
            if is_16bit_colour(head):  # Pillow would silently drop to 8 bits
                orientation = im.getexif().get(0x0112, 1)
                pic = Picture(pixels=_orient(read_png16(Path(path).read_bytes()), orientation),
                              icc=im.info.get("icc_profile"), gamma=im.info.get("gamma"))
                return pic
            if im.format == "HEIF" and (deep := formats.read_heif_deep(Path(path))) is not None:
                return deep  # 10/12-bit: Pillow's plugin would give 8 bits; libheif has applied the rotation
            if im.format == "AVIF" and im.mode in ("RGB", "L") and (rgb := _avif_deep(path)) is not None:
                return Picture(pixels=rgb, icc=im.info.get("icc_profile"), exif=im.info.get("exif"))
            im.load()
            return picture_from_pil(ImageOps.exif_transpose(im) or im)
        except ImageError as err:
            raise ImageError(f"{path}: {err}") from None


def _avif_deep(path: Path) -> np.ndarray | None:
    from .avif_deep import read_deep

    return read_deep(Path(path))


def output_format(path: Path, fmt: str | None) -> str:
    """Pillow's format name for --format or the output suffix (PNG when neither says)."""
    name = (fmt or Path(path).suffix.lstrip(".") or "png").lower()
    if name not in FORMATS:
        raise ImageError(f"{path}: unknown output format '{name}'. Use {WRITES}.")
    return FORMATS[name]


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through `write` into a temp file in the same folder, then rename: never a partial file."""
    from ..atomic import atomic_write as write_atomically

    write_atomically(Path(path), write, ImageError)


def _png_info(pic: Picture) -> PngImagePlugin.PngInfo | None:
    if not pic.gamma:
        return None
    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", struct.pack(">I", round(pic.gamma * 100000)))
    return info


def encoder(pic: Picture, fmt: str, quality: int) -> Callable[[BinaryIO], None]:
    """A function writing `pic` in `fmt` to a file object, metadata included."""
    arr = pic.pixels
    if fmt == "JPEG" and pic.has_alpha:
        raise ImageError("JPEG cannot store transparency; use --format png or webp for this image.")
    if fmt in ("AVIF", "HEIF", "JXL"):
        return formats.encoder(pic, fmt, quality)
    if fmt == "PNG" and arr.dtype == np.uint16 and arr.shape[2] != 1:
        return lambda f: write_png16(f, arr, icc=pic.icc, gamma=pic.gamma)
    if fmt != "PNG":
        pic = Picture(pixels=to_8bit(arr), icc=pic.icc, gamma=pic.gamma, exif=pic.exif)
    img = pil_from_picture(pic)
    opts: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        opts["quality"] = quality
    if fmt == "WEBP" and quality >= 100:
        opts["lossless"] = True  # --quality 100: exact pixels
    if pic.icc:
        opts["icc_profile"] = pic.icc
    if pic.exif and fmt in ("JPEG", "WEBP", "PNG"):
        opts["exif"] = pic.exif
    if fmt == "PNG" and (info := _png_info(pic)):
        opts["pnginfo"] = info

    def write(f: BinaryIO) -> None:
        try:
            img.save(f, format=fmt, **opts)
        except (ValueError, KeyError, TypeError) as exc:
            raise ImageError(f"cannot encode as {fmt} ({exc}).") from None
    return write


def save_picture(pic: Picture, path: Path, *, fmt: str | None = None, quality: int = 95) -> None:
    """Encode and write atomically; ImageError with the path on any failure."""
    try:
        write = encoder(pic, output_format(path, fmt), quality)
        atomic_write(path, write)
    except ImageError as err:
        if str(err).startswith(str(path)):
            raise
        raise ImageError(f"{path}: {err}") from None


def save_image(img: Image.Image, path: Path, *, fmt: str | None = None, quality: int = 95) -> None:
    """Save a PIL image atomically (metadata kept), as `save_picture` does."""
    save_picture(picture_from_pil(img), path, fmt=fmt, quality=quality)
