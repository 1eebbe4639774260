"""The output file: the finished video segments joined without re-encoding, and every other stream of the input
copied packet for packet (or its audio re-encoded), with chapters and metadata, in time order, in one pass."""
from __future__ import annotations

import heapq
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .video_frames import Look, configure
from .video_plan import SKIPPED_TAGS, VideoPlan
from .video_segments import decode_times, done_segments, read_packets, read_pts, seg_path

AUDIO_CODEC = {"webm": "libopus", "matroska": "libopus"}  # --audio reencode: else AAC (mp4, mov)


def _tags(meta: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in meta.items() if k not in SKIPPED_TAGS and not k.startswith("DURATION")}


def _video_packets(work: Path, stream: Any, tb: Fraction) -> Iterator[tuple[float, int, Any]]:
    import av

    last = None
    for i in sorted(done_segments(work)):
        dts_list = decode_times(read_pts(seg_path(work, i)), last)
        for (pts, _, dur, key, data), dts in zip(read_packets(seg_path(work, i)), dts_list):
            pkt = av.Packet(data)
            pkt.pts, pkt.dts, pkt.duration, pkt.time_base = pts, dts, dur, tb
            last = dts
            pkt.is_keyframe = key
            pkt.stream = stream
            yield float(dts * tb), 0, pkt


def _input_packets(inp: Any, plan: VideoPlan, out_streams: dict[int, Any], bounds: tuple[float, float | None],
                   ) -> Iterator[tuple[float, int, Any]]:
    """Packets of the copied and re-encoded streams, within the preview's bounds, shifted to its start."""
    chosen = [inp.streams[i] for i in out_streams if i != plan.video and inp.streams[i].type != "attachment"]
    if not chosen:
        return
    lo, hi = bounds
    for pkt in inp.demux(*chosen):
        if pkt.pts is None and pkt.dts is None:
            continue  # the flush packet at the end of each stream
        tb = Fraction(pkt.time_base)
        t = float((pkt.pts if pkt.pts is not None else pkt.dts) * tb)
        if t < lo or (hi is not None and t >= hi):
            continue
        shift = round(Fraction(plan.opts.start) / tb)
        pkt.pts = None if pkt.pts is None else pkt.pts - shift
        pkt.dts = None if pkt.dts is None else pkt.dts - shift
        yield float((pkt.dts if pkt.dts is not None else pkt.pts) * tb), 1 + pkt.stream.index, pkt


def _chapters(inp: Any, start: float, end: float | None) -> list[dict[str, Any]]:
    """The input's chapters within the preview, shifted to its start (all of them without --start/--duration)."""
    out = []
    for ch in inp.chapters():
        tb = Fraction(ch["time_base"])
        a, b = float(ch["start"] * tb) - start, float(ch["end"] * tb) - start
        if b <= 0 or (end is not None and a >= end - start):
            continue
        shift = round(Fraction(start) / tb)
        out.append({**ch, "start": max(0, ch["start"] - shift), "end": ch["end"] - shift})
    return out


def join(plan: VideoPlan, lk: Look, enc: tuple[Any, ...], work: Path, f: BinaryIO) -> None:
    """Write the output container to `f`: streams in the input's order, packets merged in time order."""
    import av

    size, pix_fmt, tb, rate = enc
    with av.open(str(plan.src)) as inp, av.open(f, "w", format=plan.container,
                                               container_options={"fflags": "+bitexact"}) as out:
        out.metadata.update(_tags(dict(inp.metadata)))
        actions = {o.index: o.action for o in plan.others}
        streams: dict[int, Any] = {}
        encoders: dict[int, Any] = {}
        for s in inp.streams:
            if s.index == plan.video:
                o = out.add_stream(plan.vcodec)
                configure(o.codec_context, plan, lk, size, pix_fmt, tb, rate)
                o.time_base = tb
                if lk.matrix:
                    o.set_display_matrix(list(lk.matrix))
                if plan.vcodec == "libx265" and plan.container in ("mp4", "mov"):
                    o.codec_context.codec_tag = "hvc1"  # what Apple's players require of HEVC in MP4/MOV
            elif actions.get(s.index) == "copy":
                o = out.add_stream_from_template(s)
            elif actions.get(s.index) == "reencode":
                o = out.add_stream(AUDIO_CODEC.get(plan.container, "aac"), rate=s.rate)
                o.layout = s.layout
                encoders[s.index] = o
            else:
                continue
            o.metadata.update(_tags(dict(s.metadata)))
            o.disposition = s.disposition  # default / forced (signs-and-songs subtitles) / hearing-impaired…
            streams[s.index] = o
        vstream = inp.streams[plan.video]
        first = float((vstream.start_time or 0) * Fraction(vstream.time_base))
        lo = first + plan.opts.start
        hi = None if plan.opts.duration is None else lo + plan.opts.duration
        keep_from = lo if plan.opts.start > 0 else float("-inf")  # the whole clip: audio's priming packets too
        if plan.opts.start > 0 or plan.opts.duration is not None:
            out.set_chapters(_chapters(inp, plan.opts.start, hi))
        else:
            out.set_chapters(inp.chapters())
        if plan.opts.start > 0:
            inp.seek(max(0, int((lo - 2) / float(Fraction(vstream.time_base)))), stream=vstream, backward=True)
        merged = heapq.merge(_video_packets(work, streams[plan.video], tb),
                             _input_packets(inp, plan, streams, (keep_from, hi)), key=lambda x: (x[0], x[1]))
        for _, _, pkt in merged:
            if pkt.stream_index in encoders and pkt.stream.container is inp:
                _reencode(out, encoders[pkt.stream_index], pkt)
                continue
            if pkt.stream.container is inp:
                pkt.stream = streams[pkt.stream.index]
            out.mux(pkt)
        for enc_stream in encoders.values():
            out.mux(enc_stream.encode(None))


def _reencode(out: Any, stream: Any, pkt: Any) -> None:
    """Decode one audio packet and mux what the output's audio encoder makes of it."""
    for frame in pkt.decode():
        frame.pts = pkt.pts if frame.pts is None else frame.pts
        out.mux(stream.encode(frame))
