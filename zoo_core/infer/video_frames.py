"""Video frames ↔ the RGB arrays the upscaler takes, and the encoder settings (pixel format, colour tags, quality).

A frame goes to RGB with its own matrix and range and comes back with the same ones, and the output is tagged with
the input's primaries, transfer, matrix and range: no colour shift. More than 8 bits go through 16-bit RGB.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import ImageError


@dataclass(frozen=True)
class Look:
    """What the first decoded frame says about the video: size, depth, chroma layout, colour tags, rotation."""

    width: int
    height: int
    depth: int  # bits per component
    chroma: str  # 420 | 422 | 444
    colorspace: int
    color_range: int
    primaries: int
    trc: int
    matrix: tuple[int, ...] | None  # the display matrix (rotation, flips), as FFmpeg stores it
    sar: Fraction | None

    @property
    def deep(self) -> bool:
        """More than 8 bits per component: the 16-bit path."""
        return self.depth > 8


def look(frame: Any, stream: Any) -> Look:
    """Read the first frame's properties (the decoder has applied the container's tags to it)."""
    fmt = frame.format
    depth = max(c.bits for c in fmt.components)
    name = fmt.name
    chroma = "444" if "444" in name or name.startswith(("gbr", "rgb", "bgr")) else "422" if "422" in name else "420"
    matrix = None
    for key in frame.side_data:  # the container's rotation/flips, which the decoder hands to each frame
        if "DISPLAYMATRIX" in str(key).upper():
            matrix = tuple(int(v) for v in np.frombuffer(bytes(memoryview(frame.side_data[key])), dtype="<i4")[:9])
    sar = stream.codec_context.sample_aspect_ratio or stream.sample_aspect_ratio
    return Look(frame.width, frame.height, depth, chroma, int(frame.colorspace), int(frame.color_range),
                int(frame.color_primaries), int(frame.color_trc), matrix, Fraction(sar) if sar else None)


def to_rgb(frame: Any, deep: bool) -> np.ndarray:
    """HxWx3 uint8 (or uint16 for deep video) RGB, converted with the frame's own matrix and range."""
    rng = frame.color_range or 1  # unspecified is limited ("MPEG") range, as every player reads it
    rgb = frame.reformat(format="rgb48le" if deep else "rgb24", src_colorspace=frame.colorspace or None,
                         src_color_range=rng, dst_color_range=2, interpolation="BICUBIC")
    return np.ascontiguousarray(rgb.to_ndarray())


def from_rgb(arr: np.ndarray, pix_fmt: str, lk: Look, pts: int, duration: int, tb: Fraction) -> Any:
    """The encoder's frame for upscaled RGB: the input's matrix and range, tags, timestamp and duration."""
    import av

    frame = av.VideoFrame.from_ndarray(arr, format="rgb48le" if arr.dtype == np.uint16 else "rgb24")
    rgb_out = pix_fmt.startswith(("gbr", "rgb", "bgr"))
    out = frame if pix_fmt == frame.format.name else frame.reformat(
        format=pix_fmt, src_color_range=2, dst_colorspace=None if rgb_out else (lk.colorspace or None),
        dst_color_range=None if rgb_out else (lk.color_range or 1), interpolation="BICUBIC")
    if not rgb_out:
        out.colorspace = lk.colorspace
        out.color_range = lk.color_range
    out.color_primaries = lk.primaries
    out.color_trc = lk.trc
    out.pts = pts
    out.duration = duration
    out.time_base = tb
    return out


def pix_fmt_for(vcodec: str, lk: Look, ten_bit: bool) -> str:
    """The encoder's pixel format: the input's chroma layout, its depth (at least 10 bits for `ten_bit` codecs)."""
    import av

    names = [f.name for f in av.codec.Codec(vcodec, "w").video_formats or ()]
    depth = max(lk.depth, 10) if ten_bit else lk.depth
    if vcodec == "ffv1":  # lossless RGB: exactly the upscaled pixels
        wanted = ["bgr0"] if depth <= 8 else [f"gbrp{depth}le", "gbrp16le", "rgb48le"]
    else:
        wanted = [f"yuv{ch}p" + (f"{d}le" if d > 8 else "") for ch in (lk.chroma, "420") for d in (depth, 10, 8)
                  if d <= max(depth, 8)]
    for name in wanted:
        if name in names:
            return name
    raise ImageError(f"--vcodec {vcodec} takes none of {', '.join(wanted[:3])}; pick another --vcodec.")


def configure(ctx: Any, plan: Any, lk: Look, size: tuple[int, int], pix_fmt: str, tb: Fraction,
              rate: Fraction | None) -> None:
    """Set an encoder (a stream's codec context or a bare one) the same way for every segment and the join."""
    ctx.width, ctx.height = size
    ctx.pix_fmt = pix_fmt
    ctx.time_base = tb
    if rate:
        ctx.framerate = rate
    if lk.sar:
        ctx.sample_aspect_ratio = lk.sar
    if not pix_fmt.startswith(("gbr", "rgb", "bgr")):
        ctx.colorspace = lk.colorspace
        ctx.color_range = lk.color_range
    ctx.color_primaries = lk.primaries
    ctx.color_trc = lk.trc
    opts: dict[str, str] = {}
    if plan.crf is not None and plan.vcodec != "ffv1":
        opts["crf"] = f"{plan.crf:g}"
    if plan.preset and plan.vcodec != "ffv1":
        opts["preset"] = plan.preset
    if plan.vcodec == "libx265":
        opts["x265-params"] = "log-level=error"
    if plan.vcodec == "libvpx-vp9":
        opts["b"] = "0"  # constant quality: crf alone
    if plan.vcodec == "ffv1":
        opts.update(level="3", slicecrc="1")
    ctx.options = opts
    ctx.thread_count = 0  # the codec's own choice (all cores)


def target(lk: Look, scale: float) -> tuple[int, int]:
    """(width, height) of the upscaled frames."""
    from .scaling import target_size

    h, w = target_size(lk.width, lk.height, scale)
    return w, h
