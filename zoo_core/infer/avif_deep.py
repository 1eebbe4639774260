"""10/12-bit AVIF through PyAV (dav1d to read, SVT-AV1 to write): Pillow's AVIF plugin reads and writes 8 bits only.

Used where it keeps more and loses nothing: a deep AVIF without alpha or rotation is read as 16-bit RGB; a 16-bit
picture without alpha, ICC profile or EXIF (which FFmpeg's AVIF muxer cannot store) is written at 10 bits.
Everything else takes Pillow's 8-bit path, which keeps alpha and metadata.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from ..errors import ImageError
from .modes import Picture

# BT.709 matrix, full range, BT.709 primaries, sRGB transfer: the tags of an sRGB picture
TAGS = {"colorspace": 1, "color_range": 2, "color_primaries": 1, "color_trc": 13}


def read_deep(path: Path) -> np.ndarray | None:
    """HxWx3 uint16 RGB of a 10/12-bit AVIF, or None (8-bit, alpha, rotation, or PyAV cannot read it)."""
    import av

    from .video_frames import to_rgb

    try:
        with av.open(str(path)) as c:
            if len(c.streams.video) != 1:  # a second stream is the alpha plane: Pillow keeps it
                return None
            frame = next(c.decode(video=0))
    except (av.FFmpegError, StopIteration, ValueError):
        return None
    depth = max(comp.bits for comp in frame.format.components)
    rotated = any("DISPLAYMATRIX" in str(key).upper() for key in frame.side_data)
    if depth <= 8 or rotated or any(comp.is_alpha for comp in frame.format.components):
        return None
    return to_rgb(frame, True)


def can_write_deep(pic: Picture) -> bool:
    """Whether a 10-bit AVIF keeps everything this picture has."""
    h, w, c = pic.pixels.shape
    even = h % 2 == 0 and w % 2 == 0 and min(h, w) >= 16  # 4:2:0 and SVT-AV1's smallest frames
    return pic.pixels.dtype == np.uint16 and c in (1, 3) and even and not pic.icc and not pic.exif


def deep_writer(pic: Picture, quality: int) -> Callable[[BinaryIO], None]:
    """Write a 16-bit picture as a 10-bit 4:2:0 AVIF (SVT-AV1); quality maps to crf as libavif maps it to a quantiser."""
    import av

    arr = pic.pixels if pic.pixels.shape[2] == 3 else pic.pixels.repeat(3, 2)
    h, w = arr.shape[:2]
    crf = round((100 - quality) * 63 / 100)

    def write(f: BinaryIO) -> None:
        buf = io.BytesIO()
        try:
            with av.open(buf, "w", format="avif") as out:
                s = out.add_stream("libsvtav1")
                s.width, s.height, s.pix_fmt = w, h, "yuv420p10le"
                for key, value in TAGS.items():
                    setattr(s.codec_context, key, value)
                s.codec_context.options = {"crf": str(crf), "preset": "6"}
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb48le").reformat(
                    format="yuv420p10le", dst_colorspace=TAGS["colorspace"], dst_color_range=TAGS["color_range"],
                    interpolation="BICUBIC")
                for key, value in TAGS.items():
                    setattr(frame, key, value)
                out.mux(s.encode(frame))
                out.mux(s.encode(None))
        except (av.FFmpegError, ValueError) as exc:
            raise ImageError(f"cannot encode as 10-bit AVIF ({exc}); use --format png or heic.") from None
        f.write(buf.getvalue())
    return write
