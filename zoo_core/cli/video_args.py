"""The video flags of `zoo upscale` (docs/video.md), kept apart from the image flags."""
from __future__ import annotations

import argparse

from ..numbers import flag


def add_video_arguments(p: argparse.ArgumentParser) -> None:
    """Attach the video group to the upscale parser."""
    g = p.add_argument_group("video", "for .mp4/.mkv/.webm/.mov… inputs (docs/video.md)")
    g.add_argument("--vcodec", default=None, help="video encoder: libx265 (default, 10-bit), libx264, libsvtav1 "
                   "(default for .webm), libvpx-vp9, ffv1 (lossless RGB)")
    g.add_argument("--crf", type=flag("--crf", kind=float, lo=0, hi=63), default=None,
                   help="constant quality (lower is better): default 18 for x265, 16 for x264, 24 for AV1/VP9")
    g.add_argument("--preset", default=None, help="encoder speed preset (default: medium for x265, slow for x264, "
                   "8 for SVT-AV1)")
    g.add_argument("--audio", choices=("copy", "reencode"), default="copy",
                   help="copy audio as it is (default) or re-encode it (AAC in .mp4/.mov, Opus in .mkv/.webm) when "
                   "the output container refuses its codec")
    g.add_argument("--drop", action="append", default=[], metavar="KIND|INDEX",
                   help="leave out streams: audio, subtitle, attachment, data, or a stream index (repeatable)")
    g.add_argument("--start", type=flag("--start", kind=float, lo=0, hi=10**7), default=0.0,
                   help="begin at this many seconds (a preview of a long episode)")
    g.add_argument("--duration", type=flag("--duration", kind=float, lo=0.001, hi=10**7), default=None,
                   help="upscale only this many seconds")
    g.add_argument("--segment", type=flag("--segment", kind=float, lo=0.001, hi=10**7), default=60.0,
                   help="seconds of video per segment, cut at the next keyframe: the unit --resume keeps (default 60)")


def video_options(args: argparse.Namespace) -> object:
    """VideoOptions from the parsed flags."""
    from ..infer.video_plan import VideoOptions

    return VideoOptions(vcodec=args.vcodec, crf=args.crf, preset=args.preset, audio=args.audio,
                        drop=tuple(str(d).lower() for d in args.drop), start=args.start, duration=args.duration,
                        segment=args.segment)
