"""The upscaled video stream, encoded segment by segment into a work folder: decode, upscale and encode overlap in a
bounded pipeline (a few frames in flight, nothing extracted to disk), and a finished segment is never redone.

Segments start at input keyframes at least `--segment` seconds apart; each is encoded by a fresh encoder with the
same settings, so it starts on a keyframe and `--resume` continues from the last finished one with the same bytes
an uninterrupted run writes.
"""
from __future__ import annotations

import bisect
import os
import queue
import struct
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from ..errors import ImageError
from .video_frames import Look, configure, from_rgb, to_rgb

HEAD = struct.Struct("<qqqBI")  # pts, dts, duration, keyframe, size
NONE = -(2**63)
MAGIC = b"ZOOSEG1\n"
DEPTH = 3  # frames in flight per queue: bounded memory whatever the clip's length


def seg_path(work: Path, i: int) -> Path:
    """The finished segment file of index i."""
    return work / f"seg{i:06d}.zseg"


def done_segments(work: Path) -> set[int]:
    """Indices of the segments already finished in `work`."""
    found = set()
    for name in os.listdir(work) if work.is_dir() else []:
        if name.startswith("seg") and name.endswith(".zseg"):
            found.add(int(name[3:-5]))
    return found


def read_packets(path: Path) -> Iterator[tuple[int | None, int | None, int, bool, bytes]]:
    """(pts, dts, duration, keyframe, data) of each packet in a segment file."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ImageError(f"{path}: not a zoo segment; delete the work folder and run again without --resume.")
        while head := f.read(HEAD.size):
            pts, dts, dur, key, size = HEAD.unpack(head)
            yield (None if pts == NONE else pts), (None if dts == NONE else dts), dur, bool(key), f.read(size)


def read_pts(path: Path) -> list[int]:
    """The presentation timestamps of a segment's packets, in decode order (headers only: the data is skipped)."""
    out = []
    with open(path, "rb") as f:
        f.seek(len(MAGIC))
        while head := f.read(HEAD.size):
            pts, _, _, _, size = HEAD.unpack(head)
            out.append(pts)
            f.seek(size, os.SEEK_CUR)
    return out


def decode_times(pts: list[int], after: int | None) -> list[int]:
    """Decode timestamps for packets in decode order: each at or before its pts, strictly increasing, and after
    `after` (the previous segment's last). Encoders' own are not trusted: libx265 leaves some unset."""
    order = sorted(pts)
    lag = max([0] + [o - p for o, p in zip(order, pts)])
    dts = [o - lag for o in order]
    if after is not None and dts and dts[0] <= after:
        dts = [max(d, after + 1 + i) for i, d in enumerate(dts)]
    return dts


def _write_packet(f: BinaryIO, pkt: Any, duration: int) -> None:
    pts, dts = pkt.pts, pkt.dts
    f.write(HEAD.pack(NONE if pts is None else pts, NONE if dts is None else dts, duration,
                      int(pkt.is_keyframe), pkt.size))
    f.write(bytes(pkt))


class Segments:
    """Video packets for the join, written segment by segment: one encoder per segment, renamed when complete."""

    def __init__(self, plan: Any, lk: Look, size: tuple[int, int], pix_fmt: str, tb: Fraction,
                 rate: Fraction | None, work: Path) -> None:
        self.args = (plan, lk, size, pix_fmt, tb, rate)
        self.work = work
        self.current: tuple[int, Any, BinaryIO, Path] | None = None
        self.durations: dict[int, int] = {}  # pts → the input frame's duration (libx265 leaves packets' unset)

    def _open(self, seg: int) -> None:
        import av

        ctx = av.CodecContext.create(self.args[0].vcodec, "w")
        configure(ctx, *self.args)
        ctx.flags |= int(av.codec.context.Flags.global_header)  # as in the container: headers in extradata
        part = self.work / f".seg{seg:06d}.zseg.part"
        f = open(part, "wb")
        f.write(MAGIC)
        self.current = (seg, ctx, f, part)

    def add(self, seg: int, frame: Any) -> None:
        """Encode one frame of segment `seg` (finishing the previous segment when a new one starts)."""
        if self.current is None or self.current[0] != seg:
            self.finish()
            self._open(seg)
        _, ctx, f, _ = self.current  # type: ignore[misc]
        self.durations[frame.pts] = frame.duration
        for pkt in ctx.encode(frame):
            _write_packet(f, pkt, self.durations.pop(pkt.pts, pkt.duration or 0))

    def finish(self) -> None:
        """Flush the encoder and rename the segment into place: from now on --resume keeps it."""
        if self.current is None:
            return
        seg, ctx, f, part = self.current
        self.current = None
        for pkt in ctx.encode(None):
            _write_packet(f, pkt, self.durations.pop(pkt.pts, pkt.duration or 0))
        self.durations.clear()
        f.close()
        os.replace(part, seg_path(self.work, seg))

    def abandon(self) -> None:
        """Drop the unfinished segment (an interrupt or an error)."""
        if self.current is not None:
            _, _, f, part = self.current
            self.current = None
            f.close()
            part.unlink(missing_ok=True)


def decoded(plan: Any, lk: Look, done: set[int], stop: threading.Event) -> Iterator[tuple[int, int, int, Any]]:
    """(segment, pts, duration, RGB array) of each frame to upscale, in display order, skipping finished segments."""
    import av

    opts = plan.opts
    with av.open(str(plan.src)) as inp:
        vs = inp.streams[plan.video]
        vs.thread_type = "AUTO"
        tb = Fraction(vs.time_base)
        first = vs.start_time or 0
        lo = first + round(Fraction(opts.start) / tb)
        hi = None if opts.duration is None else lo + round(Fraction(opts.duration) / tb)
        if opts.start > 0:
            inp.seek(lo, stream=vs, backward=True)
        starts: list[int] = []
        for packet in inp.demux(vs):
            if stop.is_set():
                return
            key_pts = packet.pts if packet.is_keyframe and packet.pts is not None else None
            if key_pts is not None and hi is not None and key_pts >= hi:
                packet = None  # noqa: PLW2901 - past the preview: flush the decoder and stop
            elif key_pts is not None and (not starts or (key_pts - starts[-1]) * tb >= opts.segment):
                starts.append(key_pts)
            if packet is not None and len(starts) - 1 in done and packet.size:
                continue  # a finished segment: its packets are not decoded
            for frame in (vs.codec_context.decode(None) if packet is None else packet.decode()):
                pts = frame.pts if frame.pts is not None else frame.best_effort_timestamp
                seg = max(0, bisect.bisect_right(starts, pts) - 1)
                if pts < lo or (hi is not None and pts >= hi) or seg in done:
                    continue
                yield seg, pts - (lo - first), int(frame.duration or 0), to_rgb(frame, lk.deep)
            if packet is None:
                return


def run_pipeline(plan: Any, lk: Look, segments: Segments, done: set[int], upscale: Callable[[Any], Any],
                 on_frame: Callable[[], None]) -> None:
    """Decode (thread) → upscale (here, the main thread, so Ctrl-C lands here) → encode (thread), bounded queues."""
    pix_fmt, tb = segments.args[3], segments.args[4]
    stop = threading.Event()
    q_in: queue.Queue = queue.Queue(DEPTH)
    q_out: queue.Queue = queue.Queue(DEPTH)
    errors: list[BaseException] = []

    def put(q: queue.Queue, item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode() -> None:
        try:
            for item in decoded(plan, lk, done, stop):
                if not put(q_in, item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which reports it
            errors.append(exc)
        put(q_in, None)

    def encode() -> None:
        try:
            while (item := _get(q_out, stop, errors)) is not None:
                seg, pts, dur, arr = item
                segments.add(seg, from_rgb(arr, pix_fmt, lk, pts, dur, tb))
            if not errors and not stop.is_set():  # the end of the clip, not a failure elsewhere
                segments.finish()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            stop.set()

    workers = [threading.Thread(target=decode, daemon=True), threading.Thread(target=encode, daemon=True)]
    for w in workers:
        w.start()
    complete = False
    try:
        while (item := _get(q_in, stop, errors)) is not None:
            seg, pts, dur, arr = item
            if not put(q_out, (seg, pts, dur, upscale(arr))):
                break
            on_frame()
        put(q_out, None)
        workers[1].join()
        complete = not errors
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=30)
        if not complete:
            segments.abandon()
    if errors:
        raise errors[0]


def _get(q: queue.Queue, stop: threading.Event, errors: list[BaseException]) -> Any:
    """The next item, or None at the end, when a worker failed or when the run stops."""
    while not errors and not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return None
