"""`zoo upscale clip.mkv -o big.mkv`: one video job from the checks to the renamed output (docs/video.md).

Checked first (every stream, the encoder, the sizes), then encoded segment by segment into a hidden work folder
beside the output, then joined into a temp file that is renamed: an interrupt leaves no output, only the finished
segments, which `--resume` keeps when the same command runs again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from ..errors import ImageError
from .video_frames import Look, look, pix_fmt_for, target
from .video_plan import TEN_BIT, VideoOptions, VideoPlan, plan_video


def first_look(plan: VideoPlan) -> tuple[Look, Fraction, Fraction | None, int]:
    """(look, time base, frame rate, estimated frame count) from the first frame at the start point."""
    import av

    with av.open(str(plan.src)) as inp:
        vs = inp.streams[plan.video]
        tb = Fraction(vs.time_base)
        if plan.opts.start > 0:
            inp.seek((vs.start_time or 0) + round(Fraction(plan.opts.start) / tb), stream=vs, backward=True)
        try:
            frame = next(inp.decode(vs))
        except StopIteration:
            raise ImageError(f"{plan.src}: its video stream has no frame to decode"
                             + (" after --start." if plan.opts.start else ".")) from None
        if any(c.is_alpha for c in frame.format.components):  # never a silently flattened result
            raise ImageError(f"{plan.src}: its video has an alpha channel ({frame.format.name}), which zoo's video path "
                             "does not keep; flatten it first, or upscale its frames as PNG images.")
        rate = vs.guessed_rate or vs.average_rate
        seconds = float(vs.duration * tb) if vs.duration else float(inp.duration or 0) / 1e6
        seconds = min(seconds - plan.opts.start, plan.opts.duration or seconds)
        frames = vs.frames if vs.frames and not plan.opts.start and plan.opts.duration is None \
            else int(max(seconds, 0) * float(rate or 25)) or 1
        return look(frame, vs), tb, Fraction(rate) if rate else None, frames


def _declared(vs: Any) -> float | None:
    """The video stream's own duration in seconds, from the container (a Matroska DURATION tag too), if it says."""
    if vs.duration:
        return float(vs.duration * Fraction(vs.time_base))
    tag = vs.metadata.get("DURATION", "")
    try:
        h, m, sec = tag.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


def scan(plan: VideoPlan) -> int:
    """Read every video packet (no decoding, seconds for an episode): the frame count, and a cut or damaged file
    refused here, before any work, rather than upscaled to a shorter result."""
    import av

    count, end = 0, 0.0
    with av.open(str(plan.src)) as inp:
        vs = inp.streams[plan.video]
        tb = Fraction(vs.time_base)
        try:
            for p in inp.demux(vs):
                if p.size and p.pts is not None:
                    count += 1
                    end = max(end, float((p.pts + (p.duration or 0)) * tb))
        except av.FFmpegError as exc:
            raise ImageError(f"{plan.src}: the video is damaged after {count} frames ({exc}); "
                             "nothing was written. Repair or re-download it.") from None
        declared, rate = _declared(vs), float(vs.guessed_rate or 25)
        start = float((vs.start_time or 0) * tb)
        if declared and start + declared - end > max(2 / rate, 0.01 * declared):
            raise ImageError(f"{plan.src}: the video stops at {end - start:.2f} s but says it lasts {declared:.2f} s: "
                             "the file is cut (an unfinished download or copy?); nothing was written. "
                             "Use the complete file.")
    return count


def _fingerprint(plan: VideoPlan, extra: dict[str, Any]) -> str:
    """What makes segments reusable: the input file as it is, the encoder settings and the model choice."""
    st = os.stat(plan.src)
    o = plan.opts
    return json.dumps({"src": os.path.realpath(plan.src), "size": st.st_size, "mtime": st.st_mtime_ns,
                       "vcodec": plan.vcodec, "crf": plan.crf, "preset": plan.preset, "start": o.start,
                       "duration": o.duration, "segment": o.segment, **extra}, sort_keys=True)


def work_folder(dst: Path) -> Path:
    """The hidden folder beside the output that holds finished segments until the join."""
    return dst.parent / f".{dst.name}.zoo-video"


def prepare_work(work: Path, fingerprint: str, resume: bool) -> set[int]:
    """The finished segments to keep (with --resume, when the command is the same); a fresh folder otherwise."""
    from .video_segments import done_segments

    stamp = work / "job.json"
    if resume and stamp.is_file() and stamp.read_text() == fingerprint:
        return done_segments(work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    stamp.write_text(fingerprint)
    return set()


def _check_size(plan: VideoPlan, size: tuple[int, int], pix_fmt: str) -> None:
    w, h = size
    if ("420" in pix_fmt or "422" in pix_fmt) and (w % 2 or (h % 2 and "420" in pix_fmt)):
        raise ImageError(f"{plan.dst}: the result would be {w}×{h}, but {pix_fmt} video needs even sizes; "
                         "use an integer -s such as 2, or --vcodec ffv1 (lossless RGB).")


def process_video(src: Path, dst: Path, vopts: VideoOptions, upscale: Callable[[Any], Any], scale: float,
                  model: dict[str, Any], *, resume: bool, quiet: bool) -> None:
    """Upscale one video into `dst`; ImageError (one line) for anything wrong with it, before any work."""
    from ..atomic import atomic_write
    from .video_join import join
    from .video_segments import Segments, run_pipeline

    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner and warnings to stderr: errors only
    plan = plan_video(src, dst, vopts)
    lk, tb, rate, frames = first_look(plan)
    if not vopts.start and vopts.duration is None:
        frames = scan(plan) or frames
    size = target(lk, scale)
    pix_fmt = pix_fmt_for(plan.vcodec, lk, plan.vcodec in TEN_BIT)
    _check_size(plan, size, pix_fmt)
    work = work_folder(dst)
    fingerprint = _fingerprint(plan, {"scale": scale, **model})
    done = prepare_work(work, hashlib.sha256(fingerprint.encode()).hexdigest() + "\n" + fingerprint, resume)
    segments = Segments(plan, lk, size, pix_fmt, tb, rate, work)
    bar = _bar(frames, src, quiet)
    try:
        run_pipeline(plan, lk, segments, done, upscale, lambda: bar.update(1))
        atomic_write(dst, lambda f: join(plan, lk, (size, pix_fmt, tb, rate), work, f), ImageError)
    except Exception as exc:  # a failure, not an interrupt: nothing is left for --resume to use
        shutil.rmtree(work, ignore_errors=True)
        import av

        if isinstance(exc, av.FFmpegError):
            raise ImageError(f"{src}: FFmpeg stopped ({exc}); nothing was written.") from None
        raise
    finally:
        bar.close()
    shutil.rmtree(work, ignore_errors=True)


def _bar(total: int, src: Path, quiet: bool) -> Any:
    """Frames done, frames per second and the time left, on a terminal (stderr)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc=src.name[:30], file=sys.stderr, dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty(), leave=False)
