"""PIL image modes ↔ the HxWxC integer arrays the upscaler works on.

Channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; dtype uint8 or uint16 (16-bit in → 16-bit out).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..errors import ImageError

ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


@dataclass
class Picture:
    """Pixels plus the colour metadata that must survive into the output."""

    pixels: np.ndarray  # HxWxC, C in 1..4, uint8 or uint16
    icc: bytes | None = None
    gamma: float | None = None
    exif: bytes | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def has_alpha(self) -> bool:
        """Whether the last channel is alpha."""
        return self.pixels.shape[2] in (2, 4)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL says it."""
        return self.pixels.shape[1], self.pixels.shape[0]


def has_transparency(img: Image.Image) -> bool:
    """Whether the image carries an alpha channel or a transparent palette entry / colour key."""
    return img.mode in ALPHA_MODES or "transparency" in img.info


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """Colour-managed when the file has an ICC profile (CMYK JPEGs usually do), else Pillow's formula."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if out is not None:
                return out
        except Exception:  # a broken embedded profile: fall back rather than refuse the picture
            pass
    return img.convert("RGB")


def _convert(img: Image.Image) -> tuple[Image.Image, bool]:
    """(image in L/LA/RGB/RGBA/I;16, whether the input ICC profile still applies)."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA") or mode in SIXTEEN_BIT:
        return img, True
    if mode == "1":
        return img.convert("L"), True
    if mode == "La":
        return img.convert("LA"), True
    if mode == "RGBa":
        return img.convert("RGBA"), True
    if mode in ("P", "PA"):
        return img.convert("RGBA" if has_transparency(img) else "RGB"), True
    if mode == "CMYK":
        return _cmyk_to_rgb(img), False
    if mode == "I":
        arr = np.asarray(img)
        return Image.fromarray(np.clip(arr, 0, 65535).astype(np.uint16)), True
    if mode in ("RGBX", "YCbCr", "HSV"):
        return img.convert("RGB"), mode != "HSV"
    raise ImageError(f"image mode {mode} is not supported; save it as 8- or 16-bit RGB, RGBA or greyscale first.")


def picture_from_pil(img: Image.Image) -> Picture:
    """A Picture from any supported PIL image (palette, CMYK, 1-bit… converted); ImageError otherwise."""
    info = img.info
    conv, icc_ok = _convert(img)
    arr = np.asarray(conv)
    if arr.dtype.byteorder == ">" or arr.dtype == np.int32:
        arr = arr.astype(np.uint16)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"image mode {img.mode} gives {arr.dtype} pixels; expected 8- or 16-bit.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"image has no pixels ({img.width}×{img.height}).")
    return Picture(
        pixels=np.ascontiguousarray(arr),
        icc=info.get("icc_profile") if icc_ok else None,
        gamma=info.get("gamma"),
        exif=info.get("exif") if isinstance(info.get("exif"), bytes) else None,
    )


def pil_from_picture(pic: Picture) -> Image.Image:
    """The PIL image for a Picture; 16-bit colour (which PIL cannot hold) is reduced to 8 bits."""
    arr = pic.pixels
    if arr.dtype == np.uint16 and arr.shape[2] == 1:
        img = Image.fromarray(arr[:, :, 0])
    else:
        if arr.dtype == np.uint16:
            arr = to_8bit(arr)
        img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    for key, value in (("icc_profile", pic.icc), ("gamma", pic.gamma), ("exif", pic.exif)):
        if value is not None:
            img.info[key] = value
    return img


def to_8bit(arr: np.ndarray) -> np.ndarray:
    """uint16 → uint8 with rounding (x/257), as a 16→8-bit conversion should."""
    if arr.dtype == np.uint8:
        return arr
    return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)


def drop_opaque_alpha(pic: Picture) -> Picture:
    """A fully opaque alpha channel carries nothing: drop it."""
    if pic.has_alpha and bool(np.all(pic.pixels[:, :, -1] == np.iinfo(pic.pixels.dtype).max)):
        return Picture(pixels=np.ascontiguousarray(pic.pixels[:, :, :-1]), icc=pic.icc, gamma=pic.gamma,
                       exif=pic.exif, extra=pic.extra)
    return pic
