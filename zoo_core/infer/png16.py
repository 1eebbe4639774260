"""16-bit colour PNG (RGB, RGBA, grey+alpha), which Pillow reduces to 8 bits: read with pypng, write here."""
from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

from ..errors import ImageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {2: 3, 4: 2, 6: 4}  # PNG colour type → channels, for the types Pillow cannot keep in 16 bits


def is_16bit_colour(head: bytes) -> bool:
    """Whether the file starts as a 16-bit RGB, RGBA or grey+alpha PNG."""
    return head[:8] == SIGNATURE and len(head) >= 26 and head[12:16] == b"IHDR" and head[24] == 16 \
        and head[25] in COLOUR_TYPES


def read_png16(data: bytes) -> np.ndarray:
    """HxWxC uint16 pixels of a 16-bit PNG; ImageError if it is damaged."""
    import png  # pypng: decodes every filter type, interlacing included

    try:
        width, height, rows, info = png.Reader(bytes=data).read_flat()
    except (png.Error, ValueError, zlib.error, EOFError) as exc:
        raise ImageError(f"cannot decode 16-bit PNG ({exc}).") from None
    planes = int(info["planes"])
    return np.asarray(rows, dtype=np.uint16).reshape(height, width, planes)


def _chunk(f: BinaryIO, kind: bytes, body: bytes) -> None:
    f.write(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def write_png16(f: BinaryIO, pixels: np.ndarray, *, icc: bytes | None = None, gamma: float | None = None) -> None:
    """Write HxWxC uint16 pixels (C 1..4) as a 16-bit PNG with its ICC profile and gamma."""
    h, w, c = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    f.write(SIGNATURE)
    _chunk(f, b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
    if icc:
        _chunk(f, b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    if gamma:
        _chunk(f, b"gAMA", struct.pack(">I", round(gamma * 100000)))
    raw = np.ascontiguousarray(pixels, dtype=">u2").reshape(h, w * c).view(np.uint8)
    bpp = 2 * c
    sub = raw.copy()  # PNG filter 1 (Sub): each byte minus the byte one pixel to its left, mod 256
    sub[:, bpp:] -= raw[:, :-bpp]
    body = np.concatenate([np.ones((h, 1), np.uint8), sub], axis=1)
    comp = zlib.compressobj(6)
    data = b"".join(comp.compress(body[i:i + 256].tobytes()) for i in range(0, h, 256)) + comp.flush()
    _chunk(f, b"IDAT", data)
    _chunk(f, b"IEND", b"")
