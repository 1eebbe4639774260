"""The formats zoo reads and writes: Pillow's own, AVIF, HEIC/HEIF (pillow-heif, 10/12-bit), JPEG XL (pillow-jxl-plugin).

One table here names them all, so every message lists the same formats.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from ..errors import ImageError
from .modes import Picture

# --format / output suffix → Pillow's format name
FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG", "jpg": "JPEG", "gif": "GIF", "avif": "AVIF",
           "heic": "HEIF", "heif": "HEIF", "jxl": "JXL"}
SUFFIX = {"PNG": ".png", "WEBP": ".webp", "JPEG": ".jpg", "GIF": ".gif", "AVIF": ".avif", "HEIF": ".heic",
          "JXL": ".jxl"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jfif", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".tga", ".apng",
                  ".avif", ".heic", ".heif", ".jxl"}
VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".m4v", ".avi", ".ts", ".m2ts", ".mts", ".flv", ".wmv",
                  ".mpg", ".mpeg", ".ogv", ".3gp"}
# The plugin (a pip name) each added format needs: a missing one is named in the message.
PLUGIN = {"HEIF": "pillow-heif", "JXL": "pillow-jxl-plugin"}
WRITES = ".png, .webp, .jpg, .gif, .avif, .heic or .jxl"
READS = ("PNG, JPEG, WebP, GIF, BMP, TIFF, TGA, AVIF, HEIC/HEIF and JPEG XL images, and videos "
         "(.mp4, .mkv, .webm, .mov…)")
_REGISTERED: list[bool] = []


def register() -> None:
    """Register the HEIF and JPEG XL plugins with Pillow once (each one that is installed)."""
    if _REGISTERED:
        return
    _REGISTERED.append(True)
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    try:
        import pillow_jxl  # noqa: F401  (importing it registers JXL)
    except ImportError:
        pass


def check_plugin(fmt: str) -> None:
    """ImageError naming the package to install when `fmt`'s plugin is missing."""
    register()
    from PIL import Image

    if fmt in PLUGIN and fmt not in Image.SAVE:
        raise ImageError(f"writing {fmt} needs the {PLUGIN[fmt]} package; install it with "
                         f"'.venv/bin/pip install {PLUGIN[fmt]}' or choose another format ({WRITES}).")


def _depth_scale(arr: np.ndarray, depth: int) -> np.ndarray:
    """pillow-heif's 16-bit samples (the `depth`-bit value shifted left) → full-range 16 bits (white is 65535)."""
    top = (1 << depth) - 1
    value = arr.astype(np.uint32) >> (16 - depth)
    return ((value * 65535 + top // 2) // top).astype(np.uint16)


def read_heif_deep(path: Path) -> Picture | None:
    """A 10/12-bit HEIF as 16-bit pixels (Pillow's plugin gives 8 bits), or None for an 8-bit one."""
    import pillow_heif

    heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
    depth = int(heif.info.get("bit_depth", 8))
    if depth <= 8:
        return None
    arr = np.asarray(heif[0])
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    info = heif.info
    return Picture(pixels=np.ascontiguousarray(_depth_scale(arr, depth)), icc=info.get("icc_profile"),
                   exif=info.get("exif") if isinstance(info.get("exif"), bytes) else None,
                   extra={"bit_depth": depth})


def heif_deep_writer(pic: Picture, quality: int) -> Callable[[BinaryIO], None]:
    """Write 16-bit pixels as a 10-bit HEIF (12-bit when the source was 12-bit), ICC and EXIF kept."""
    import pillow_heif

    depth = 12 if pic.extra.get("bit_depth") == 12 else 10
    arr = pic.pixels
    if arr.shape[2] == 2:  # HEIF has no grey+alpha: as RGBA, as Pillow's plugin writes LA
        arr = np.concatenate([arr[:, :, :1].repeat(3, 2), arr[:, :, 1:]], axis=2)
    top = (1 << depth) - 1
    value = (arr.astype(np.uint32) * top + 32767) // 65535
    data = np.ascontiguousarray((value << (16 - depth)).astype(np.uint16))
    mode = {1: "L;16", 3: "RGB;16", 4: "RGBA;16"}[data.shape[2]]
    opts = _heif_options(pic, quality)

    def write(f: BinaryIO) -> None:
        saved = pillow_heif.options.SAVE_HDR_TO_12_BIT
        pillow_heif.options.SAVE_HDR_TO_12_BIT = depth == 12
        try:
            heif = pillow_heif.from_bytes(mode, (data.shape[1], data.shape[0]), data.tobytes())
            heif.save(f, **opts)
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise ImageError(f"cannot encode as {depth}-bit HEIF ({exc}).") from None
        finally:
            pillow_heif.options.SAVE_HDR_TO_12_BIT = saved
    return write


def _heif_options(pic: Picture, quality: int) -> dict[str, object]:
    """Quality (100: lossless, in RGB 4:4:4 so it is exact), ICC and EXIF for pillow-heif."""
    opts: dict[str, object] = {"quality": -1 if quality >= 100 else quality}
    if quality >= 100:
        opts.update(chroma=444, matrix_coefficients=0)
    if pic.icc:
        opts["icc_profile"] = pic.icc
    if pic.exif:
        opts["exif"] = pic.exif
    return opts


def save_options(fmt: str, pic: Picture, quality: int) -> dict[str, object]:
    """Pillow save() options for the added formats (quality, lossless at 100, ICC, EXIF)."""
    if fmt == "HEIF":
        return _heif_options(pic, quality)
    opts: dict[str, object] = {"quality": quality}
    if fmt == "AVIF" and quality >= 100:
        opts["subsampling"] = "4:4:4"  # no chroma halving at the top quality
    if fmt == "JXL" and quality >= 100:
        opts["lossless"] = True
    if pic.exif:
        opts["exif"] = pic.exif
    if pic.icc and fmt != "JXL":
        opts["icc_profile"] = pic.icc
    return opts


def to_srgb(pic: Picture) -> Picture:
    """Pixels converted from their ICC profile to sRGB, for a format whose writer cannot embed a profile (JXL):
    the colours stay right rather than being reinterpreted."""
    if not pic.icc or pic.pixels.shape[2] < 3:
        return pic
    from PIL import Image, ImageCms

    arr = pic.pixels
    rgb = Image.fromarray(np.ascontiguousarray(arr[:, :, :3]))
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(pic.icc))
        out = ImageCms.profileToProfile(rgb, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        raise ImageError(f"its ICC profile cannot be converted to sRGB for JPEG XL ({exc}); "
                         "use --format png, webp or avif, which keep the profile.") from None
    pixels = np.asarray(out) if out is not None else arr[:, :, :3]
    if arr.shape[2] == 4:
        pixels = np.dstack([pixels, arr[:, :, 3]])
    return Picture(pixels=np.ascontiguousarray(pixels), gamma=pic.gamma, exif=pic.exif, extra=dict(pic.extra))


def encoder(pic: Picture, fmt: str, quality: int) -> Callable[[BinaryIO], None]:
    """A function writing `pic` as AVIF, HEIF or JPEG XL: 16-bit HEIF as 10/12 bits, 16-bit AVIF as 10 bits where
    nothing else is lost (avif_deep.py), 16-bit grey JXL as 16 bits, the rest as 8 bits."""
    from .modes import pil_from_picture, to_8bit

    check_plugin(fmt)
    deep = pic.pixels.dtype == np.uint16
    if fmt == "HEIF" and deep:
        return heif_deep_writer(pic, quality)
    if fmt == "AVIF" and deep:
        from .avif_deep import can_write_deep, deep_writer

        if can_write_deep(pic):
            return deep_writer(pic, quality)
    if fmt == "JXL":
        pic = to_srgb(pic)
    if deep and not (fmt == "JXL" and pic.pixels.shape[2] == 1):
        pic = Picture(pixels=to_8bit(pic.pixels), icc=pic.icc, gamma=pic.gamma, exif=pic.exif, extra=pic.extra)
    img = pil_from_picture(pic)
    opts = save_options(fmt, pic, quality)

    def write(f: BinaryIO) -> None:
        try:
            img.save(f, format=fmt, **opts)
        except (ValueError, KeyError, TypeError, RuntimeError, NotImplementedError) as exc:
            raise ImageError(f"cannot encode as {fmt} ({exc}).") from None
    return write
