"""Video overhead: the same 1080p-class frames through `zoo upscale clip.mkv` and through PNG files, in one process.

Overhead = (wall time − model time) / model time, where model time is the time spent inside the upscaler on the
same frames. Also the peak RSS of `zoo upscale` on clips of different lengths (flat: frames are streamed).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_video.py --frames 3 --rss-frames 10,40
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def drawing(i: int, w: int, h: int) -> np.ndarray:
    """An anime-like frame: flat colour regions with dark outlines and a soft gradient sky, moving a little."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.dstack([150 + 60 * y / h, 190 + 40 * y / h, np.full_like(x, 235)])
    for k, (cx, cy, r, colour) in enumerate([(0.3, 0.55, 0.22, (250, 205, 180)), (0.7, 0.5, 0.18, (90, 60, 140)),
                                             (0.5, 0.85, 0.3, (60, 140, 80))]):
        d = np.hypot(x - (cx + 0.01 * i * (k + 1)) * w, y - cy * h) - r * h
        img[d < 0] = colour
        img[np.abs(d) < max(2, h // 300)] = (30, 20, 25)  # line art
    return img.clip(0, 255).astype(np.uint8)


def make_clip(path: Path, n: int, w: int, h: int) -> None:
    """x264 crf 16, 24 fps, 4:2:0: what an anime source looks like."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.codec_context.options = {"crf": "16", "preset": "veryfast"}
        for i in range(n):
            out.mux(v.encode(av.VideoFrame.from_ndarray(drawing(i, w, h), format="rgb24")))
        out.mux(v.encode(None))


def timed(fn, spent: list[float]):
    """`fn` wrapped to add its run time to `spent`."""
    def run(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent.append(time.perf_counter() - t)
    return run


def overhead(args: argparse.Namespace, tmp: Path) -> None:
    import zoo
    from zoo_core.infer.batch import Options, upscale_one
    from zoo_core.infer.imageio import read_picture, save_picture
    from zoo_core.infer.modes import Picture
    from zoo_core.infer.video import process_video
    from zoo_core.infer.video_frames import to_rgb
    from zoo_core.infer.video_plan import VideoOptions

    w, h = (int(v) for v in args.size.split("x"))
    clip = tmp / "in.mkv"
    make_clip(clip, args.frames, w, h)
    with av.open(str(clip)) as c:  # the PNG path gets exactly the frames the video path decodes
        for i, f in enumerate(c.decode(video=0)):
            Image.fromarray(to_rgb(f, False)).save(tmp / f"f{i:03d}.png")
    up = zoo.load(args.model)
    up.upscale_array(np.zeros((64, 64, 3), np.uint8))  # warm-up: export, first allocation
    opts = Options(scale=float(up.scale))
    rows = []
    for path in args.order.split(","):
        spent: list[float] = []
        model = timed(lambda arr: upscale_one(Picture(pixels=arr), up, up, opts, None).pixels, spent)
        t = time.perf_counter()
        if path == "video":
            process_video(clip, tmp / "out.mkv", VideoOptions(vcodec=args.vcodec), model, float(up.scale), {},
                          resume=False, quiet=True)
        else:
            for p in sorted(tmp.glob("f*.png")):
                save_picture(Picture(pixels=model(read_picture(p).pixels)), tmp / f"up-{p.name}")
        wall = time.perf_counter() - t
        rows.append((path, len(spent), wall, sum(spent)))
    print(f"\n{args.model} ({up.backend}), {args.frames} frames of {w}×{h} → {w * up.scale}×{h * up.scale}, "
          f"video encoder {args.vcodec or 'default (libx265 10-bit, crf 18, medium)'}, {os.cpu_count()} CPUs")
    print("| path | frames | wall s | model s | overhead (wall − model) / model |\n|---|---:|---:|---:|---:|")
    for path, n, wall, model_s in rows:
        print(f"| {path} | {n} | {wall:.1f} | {model_s:.1f} | {(wall - model_s) / model_s:.1%} |")


def peak_rss(args: argparse.Namespace, tmp: Path) -> None:
    """Peak RSS of a `zoo upscale` process per clip length (os.wait4 gives that child's own maximum)."""
    w, h = (int(v) for v in args.rss_size.split("x"))
    print(f"\npeak RSS of `zoo upscale clip.mkv -m {args.rss_model}` on {w}×{h} clips")
    print("| frames | seconds at 24 fps | wall s | peak RSS MB |\n|---:|---:|---:|---:|")
    for n in (int(v) for v in args.rss_frames.split(",")):
        clip = tmp / f"rss{n}.mkv"
        make_clip(clip, n, w, h)
        cmd = [str(Path(sys.executable).parent / "zoo"), "upscale", str(clip), "-o", str(tmp / f"rss{n}-out.mkv"),
               "-m", args.rss_model, "-q"] + (["--vcodec", args.vcodec] if args.vcodec else [])
        t = time.perf_counter()
        proc = subprocess.Popen(cmd)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"zoo upscale failed ({proc.returncode})")
        print(f"| {n} | {float(Fraction(n, 24)):.1f} | {time.perf_counter() - t:.0f} | {usage.ru_maxrss / 1024:.0f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--model", default="upconv7-scale2x")
    ap.add_argument("--vcodec", default=None)
    ap.add_argument("--order", default="video,png", help="paths in the order they run (e.g. png,video)")
    ap.add_argument("--rss-frames", default="", help="clip lengths for the RSS table, e.g. 10,40 (empty: skip)")
    ap.add_argument("--rss-size", default="1280x720")
    ap.add_argument("--rss-model", default="upconv7-scale2x")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if a.frames:
            overhead(a, Path(d))
        if a.rss_frames:
            peak_rss(a, Path(d))
