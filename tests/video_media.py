"""Tiny clips built with PyAV for the video tests (no binary fixtures): VFR, several audio tracks, subtitles,
attachments, chapters, 10-bit HDR tags, rotation, odd sizes."""
from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

VFR = [0, 40, 80, 200, 240, 290, 400, 433, 466, 500]  # ms: variable frame rate
MS = Fraction(1, 1000)
FONT = b"\x00\x01\x00\x00zoo test font payload"
CHAPTERS = [{"id": 1, "start": 0, "end": 250, "time_base": MS, "metadata": {"title": "Part A"}},
            {"id": 2, "start": 250, "end": 550, "time_base": MS, "metadata": {"title": "Part B"}}]


def picture(i: int, w: int, h: int, deep: bool = False) -> np.ndarray:
    """A smooth frame that moves (codecs keep it close; each frame differs)."""
    y, x = np.mgrid[0:h, 0:w]
    peak = 65535 if deep else 255
    planes = [(x * 7 + i * 11) % w / w, (y * 5 + i * 3) % h / h, ((x + y + i) % (w + h)) / (w + h)]
    return (np.dstack(planes) * peak).astype(np.uint16 if deep else np.uint8)


def make_clip(path: Path, *, fmt: str = "matroska", codec: str = "libx264", size: tuple[int, int] = (32, 24),
              pts: list[int] = VFR, pix_fmt: str = "yuv420p", audio: tuple[tuple[str, int, int], ...] = (),
              subtitle: bool = False, attachment: bool = False, chapters: bool = False, tags: dict | None = None,
              rotation: int | None = None, sar: Fraction | None = None, options: dict | None = None) -> Path:
    """Write a clip; frames at `pts` (ms), optional audio tracks (codec, rate, channels), subtitle, font, chapters."""
    w, h = size
    deep = "10" in pix_fmt or "12" in pix_fmt
    with av.open(str(path), "w", format=fmt) as out:
        v = out.add_stream(codec)
        v.width, v.height, v.pix_fmt, v.time_base = w, h, pix_fmt, MS
        v.codec_context.time_base = MS
        v.codec_context.framerate = Fraction(25)
        v.codec_context.options = options or ({"qp": "0"} if codec == "libx264" else {})
        for key, value in (tags or {}).items():
            setattr(v.codec_context, key, value)
        if sar:
            v.codec_context.sample_aspect_ratio = sar
        if rotation is not None:
            v.set_display_rotation(rotation)
        streams = [_audio(out, *a) for a in audio]
        sub = out.add_mux_stream("subrip") if subtitle else None
        if sub is not None:
            sub.time_base = MS
            sub.metadata["language"] = "eng"
            sub.disposition = av.stream.Disposition.forced
        if attachment:
            out.add_attachment("font.ttf", "application/x-truetype-font", FONT)
        out.metadata["title"] = "zoo test clip"
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(picture(i, w, h, deep), format="rgb48le" if deep else "rgb24")
            frame = frame.reformat(format=pix_fmt, dst_colorspace=(tags or {}).get("colorspace"),
                                   dst_color_range=(tags or {}).get("color_range"))
            for key, value in (tags or {}).items():
                setattr(frame, key, value)
            frame.pts, frame.time_base = p, MS
            frame.duration = (pts[i + 1] - p) if i + 1 < len(pts) else 40
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        end = (pts[-1] + 40) / 1000
        for stream, (name, rate, ch) in zip(streams, audio):
            _tone(out, stream, rate, ch, end)
        if sub is not None:
            pkt = av.Packet(b"Hello from zoo")
            pkt.stream, pkt.pts, pkt.dts, pkt.duration, pkt.time_base = sub, 100, 100, 200, MS
            out.mux(pkt)
        if chapters:
            out.set_chapters(CHAPTERS)
    return path


def _audio(out: Any, codec: str, rate: int, channels: int) -> Any:
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "stereo" if channels == 2 else "mono"
    stream.metadata["language"] = "jpn" if codec == "libopus" else "eng"
    return stream


def _tone(out: Any, stream: Any, rate: int, channels: int, seconds: float) -> None:
    n = 0
    while n < rate * seconds:
        t = (np.arange(1024) + n) / rate
        data = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None].repeat(channels, 0)
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo" if channels == 2 else "mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, n, Fraction(1, rate)
        out.mux(stream.encode(frame))
        n += 1024
    out.mux(stream.encode(None))


def packets(path: Path) -> dict[int, list[tuple[int | None, str]]]:
    """Per stream: (pts in ms, md5 of the bytes) of every packet."""
    found: dict[int, list[tuple[int | None, str]]] = {}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.size:
                t = None if p.pts is None else round(p.pts * p.time_base * 1000)
                found.setdefault(p.stream.index, []).append((t, hashlib.md5(bytes(p)).hexdigest()))
    return found


def frames(path: Path, fmt: str = "rgb24") -> list[tuple[int, int, np.ndarray]]:
    """(pts ms, duration ms, pixels) of every video frame, in display order."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        tb = vs.time_base
        return [(round(f.pts * tb * 1000), round((f.duration or 0) * tb * 1000), f.to_ndarray(format=fmt))
                for f in c.decode(vs)]
