"""A video job, checked before any frame is upscaled: the stream to upscale, what happens to every other stream
(copied, re-encoded or dropped), whether the output container takes each one, and the encoder settings."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import ImageError

CONTAINERS = {".mkv": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".webm": "webm"}
VIDEO_OUT = ".mkv (takes every stream), .mp4, .mov or .webm"
# Default encoder per container: 10-bit HEVC (x265) where it fits, AV1 (SVT-AV1) in WebM (docs/video.md says why).
DEFAULT_CODEC = {"webm": "libsvtav1"}
DEFAULT_CRF = {"libx265": 18, "libx264": 16, "libsvtav1": 24, "libvpx-vp9": 24}
DEFAULT_PRESET = {"libx265": "medium", "libx264": "slow", "libsvtav1": "8"}
TEN_BIT = ("libx265", "libsvtav1", "libvpx-vp9")  # 8-bit sources too: 10 bits band less in anime's flat gradients
KINDS = ("audio", "subtitle", "attachment", "data", "video")
SKIPPED_TAGS = {"DURATION", "ENCODER", "duration", "encoder"}  # the muxer writes its own


@dataclass(frozen=True)
class VideoOptions:
    """The video flags of `zoo upscale`."""

    vcodec: str | None = None
    crf: float | None = None
    preset: str | None = None
    audio: str = "copy"  # copy | reencode
    drop: tuple[str, ...] = ()  # kinds (audio, subtitle, attachment, data) or stream indices
    start: float = 0.0
    duration: float | None = None
    segment: float = 60.0  # seconds of input per segment (cut at the next keyframe): the unit of --resume


@dataclass
class Other:
    """A stream that is not upscaled: copied packet for packet, re-encoded (audio) or dropped."""

    index: int
    kind: str
    codec: str
    action: str  # copy | reencode | drop
    label: str


@dataclass
class VideoPlan:
    """Everything decided before the work starts."""

    src: Path
    dst: Path
    container: str
    video: int  # index of the stream that is upscaled
    others: list[Other]
    vcodec: str
    crf: float | None
    preset: str | None
    opts: VideoOptions
    extra: dict[str, Any] = field(default_factory=dict)


def describe(stream: Any) -> str:
    """'stream #2 (audio, aac, jpn)' for messages."""
    codec = codec_name(stream) or stream.metadata.get("mimetype", "?")
    lang = stream.metadata.get("language")
    name = stream.metadata.get("filename")
    return f"stream #{stream.index} ({stream.type}, {codec}" + (f", {lang}" if lang else "") + \
        (f", {name}" if name else "") + ")"


def codec_name(stream: Any) -> str:
    """The stream's codec name ('' for an attachment)."""
    codec = getattr(getattr(stream, "codec_context", None), "codec", None)
    return getattr(codec, "canonical_name", None) or getattr(codec, "name", None) or ""  # subrip, not its decoder srt


def container_for(dst: Path) -> str:
    """FFmpeg's muxer name for the output suffix; ImageError naming the suffixes zoo writes video to."""
    name = CONTAINERS.get(dst.suffix.lower())
    if name is None:
        raise ImageError(f"{dst}: '{dst.suffix}' is not a video container zoo writes; use {VIDEO_OUT}.")
    return name


def _dropped(stream: Any, drop: tuple[str, ...]) -> bool:
    return stream.type in drop or str(stream.index) in drop


def _takes(container: str, stream: Any) -> str | None:
    """None when `container` takes this stream as it is (its header is written in memory to see), else why not."""
    import av

    try:
        with av.open(io.BytesIO(), "w", format=container) as probe:
            probe.add_stream_from_template(stream)
            probe.start_encoding()
    except (av.FFmpegError, ValueError, TypeError, NotImplementedError) as exc:
        return str(exc).split(":")[0][:80] or type(exc).__name__
    return None


def _alternatives(kind: str, container: str) -> str:
    """The options that would let this stream through, for the one-line refusal."""
    fix = [f"--drop {kind}"]
    if kind == "audio":
        fix.insert(0, "--audio reencode")
    if container != "matroska":
        fix.append("an .mkv output")
    return ", ".join(fix[:-1]) + " or " + fix[-1] if len(fix) > 1 else fix[0]


def plan_video(src: Path, dst: Path, opts: VideoOptions) -> VideoPlan:
    """Open `src`, choose the stream to upscale, check every other stream against the output container."""
    import av

    container = container_for(dst)
    try:
        inp = av.open(str(src))
    except av.FFmpegError as exc:
        raise ImageError(f"{src}: cannot read it as a video ({_reason(exc)}).") from None
    with inp:
        videos = [s for s in inp.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        if not videos:
            raise ImageError(f"{src}: has no video stream to upscale.")
        main = videos[0]
        others: list[Other] = []
        for s in inp.streams:
            if s.index == main.index:
                continue
            kind = s.type if s.type in KINDS else "data"
            action = "drop" if _dropped(s, opts.drop) else "copy"
            if action == "copy" and kind == "video" and s in videos:  # cover art (an attached picture) is copied
                raise ImageError(f"{src}: {describe(s)} is a second video stream; zoo upscales one. "
                                 f"Pass --drop {s.index} to leave it out.")
            if action == "copy" and kind == "audio" and opts.audio == "reencode":
                action = "reencode"
            if action == "copy" and (why := _takes(container, s)):
                raise ImageError(f"{src}: {describe(s)} cannot be copied into {dst.suffix} ({why}); "
                                 f"use {_alternatives(kind, container)}.")
            others.append(Other(s.index, kind, codec_name(s), action, describe(s)))
        vcodec = opts.vcodec or DEFAULT_CODEC.get(container, "libx265")
        _check_codec(vcodec, container, dst)
        return VideoPlan(src, dst, container, main.index, others, vcodec,
                         opts.crf if opts.crf is not None else DEFAULT_CRF.get(vcodec),
                         opts.preset or DEFAULT_PRESET.get(vcodec), opts)


def _check_codec(vcodec: str, container: str, dst: Path) -> None:
    import av

    try:
        codec = av.codec.Codec(vcodec, "w")
    except (av.FFmpegError, ValueError):
        raise ImageError(f"--vcodec {vcodec}: no such video encoder here; use libx265, libx264, libsvtav1, "
                         "libvpx-vp9 or ffv1 (lossless).") from None
    if codec.type != "video":
        raise ImageError(f"--vcodec {vcodec}: is a {codec.type} encoder; give a video encoder such as libx265.")
    with av.open(io.BytesIO(), "w", format=container) as probe:
        if codec.name not in probe.supported_codecs and codec.canonical_name not in probe.supported_codecs:
            raise ImageError(f"{dst}: {dst.suffix} cannot hold {vcodec} video; pick another --vcodec "
                             f"or an .mkv output.")


def _reason(exc: BaseException) -> str:
    """FFmpeg's error text without the errno and the file name."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip()[:120]


def time_base(stream: Any) -> Fraction:
    """The stream's time base (1/1000 when the container leaves it unset)."""
    return Fraction(stream.time_base) if stream.time_base else Fraction(1, 1000)
