"""Running a list of jobs: one bad file is reported and the rest go on; progress over files and tiles."""
from __future__ import annotations

import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable, TextIO

from ..errors import ImageError, one_line
from .animation import map_frames, read_animation, write_animation
from .imageio import read_picture, save_picture
from .jobs import Job, check_target, failure, quoted
from .modes import Picture, drop_opaque_alpha
from .scaling import passes_for, scale_picture, target_size
from .tiler import tile_count
from .upscaler import Upscaler

Tick = Callable[[int], None]
# Largest side each output format can store (libjpeg: 65500; WebP: 16383), checked before computing.
MAX_SIDE = {"JPEG": 65500, "WEBP": 16383, "GIF": 65535, "PNG": 2**31 - 1}


@dataclass(frozen=True)
class Options:
    """What the user asked for, per image."""

    scale: float = 2.0
    tta: bool = False
    tile: int | None = None
    quality: int = 95
    max_pixels: int | None = None
    overwrite: bool = False
    resume: bool = False
    video: object = None  # VideoOptions (video_plan.py) for video inputs
    quiet: bool = False


@dataclass
class Summary:
    """How a run went."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def count_tiles(pic: Picture, first: Upscaler, opts: Options) -> int:
    """Model runs one picture costs: tiles per pass × (8 with TTA) × (2 with alpha)."""
    (w, h), total = pic.size, 0
    per = (8 if opts.tta else 1) * (2 if pic.has_alpha else 1)
    for _ in range(passes_for(first.scale, opts.scale)):
        total += tile_count(h, w, first.tile_for(h, w, opts.tile)) * per
        w, h = w * first.scale, h * first.scale
    return total


def upscale_one(pic: Picture, first: Upscaler, rest: Upscaler, opts: Options, on_tile: Tick | None) -> Picture:
    """All passes for one picture: the first card denoises, later ones only enlarge."""
    def step(p: Picture, i: int) -> Picture:
        return (first if i == 0 else rest).upscale_picture(p, tile_size=opts.tile, tta=opts.tta, on_tile=on_tile)
    return scale_picture(drop_opaque_alpha(pic), opts.scale, first.scale, step)


def check_fits(job: Job, size: tuple[int, int], scale: float) -> None:
    """ImageError when the output would be too large for its format: said before any computing."""
    h, w = target_size(size[0], size[1], scale)
    side = MAX_SIDE.get(job.fmt, 2**31 - 1)
    if max(w, h) > side:
        raise ImageError(f"{quoted(job.dst)}: the result would be {w}×{h}, but {job.fmt} stores at most "
                         f"{side} pixels a side; use --format png, a smaller -s, or crop the image.")


def process(job: Job, first: Upscaler, rest: Upscaler, opts: Options, *,
            on_total: Tick | None = None, on_tile: Tick | None = None) -> None:
    """Read, upscale and write one job; ZooError on any failure (nothing written then)."""
    if job.fmt == "VIDEO":
        _video(job, first, rest, opts)
        return
    if job.animated:
        anim = read_animation(job.src, limit=opts.max_pixels)
        check_fits(job, anim.size, opts.scale)
        if on_total:
            on_total(sum(count_tiles(drop_opaque_alpha(f), first, opts) for f in anim.frames))
        out = map_frames(anim, lambda p: upscale_one(p, first, rest, opts, on_tile))
        write_animation(out, job.dst, fmt=job.fmt, quality=opts.quality)
        return
    pic = read_picture(job.src, limit=opts.max_pixels)
    check_fits(job, pic.size, opts.scale)
    if on_total:
        on_total(count_tiles(drop_opaque_alpha(pic), first, opts))
    save_picture(upscale_one(pic, first, rest, opts, on_tile), job.dst, fmt=job.fmt, quality=opts.quality)


def _video(job: Job, first: Upscaler, rest: Upscaler, opts: Options) -> None:
    """A video through the same passes, tiler and options as a picture, frame by frame (video.py)."""
    from .video import process_video
    from .video_plan import VideoOptions

    def upscale(arr: object) -> object:
        return upscale_one(Picture(pixels=arr), first, rest, opts, None).pixels  # type: ignore[arg-type]
    model = {"first": first.card.name, "rest": rest.card.name, "weights": first.weights, "tta": opts.tta}
    process_video(job.src, job.dst, opts.video or VideoOptions(), upscale, opts.scale, model,  # type: ignore[arg-type]
                  resume=opts.resume, quiet=opts.quiet)


def _bars(total: int, quiet: bool) -> tuple[object, Callable[[int], object]]:
    from tqdm import tqdm

    off = quiet or not sys.stderr.isatty()
    files = tqdm(total=total, unit="img", desc="images", file=sys.stderr, disable=off, dynamic_ncols=True)
    tiles: list[tqdm] = []

    def new_tile_bar(n: int) -> object:
        if tiles:
            tiles.pop().close()
        bar = tqdm(total=n, unit="tile", desc="tiles", file=sys.stderr, disable=off, leave=False, position=1)
        tiles.append(bar)
        return bar
    return files, new_tile_bar


def _fail(summary: Summary, message: str) -> None:
    summary.failed.append(message)
    say(f"zoo: error: {message}", sys.stderr)


def say(line: str, stream: TextIO) -> None:
    """One whole line in one write, flushed: processes sharing a pipe (torchrun) never interleave
    mid-line, and a rank killed by its launcher loses nothing; progress bars are cleared around it."""
    from tqdm import tqdm

    with tqdm.external_write_mode(file=stream):
        stream.write(one_line(line) + "\n")
        stream.flush()


def run_jobs(jobs: list[Job], first: Upscaler, rest: Upscaler, opts: Options, *, inputs: set[str],
             quiet: bool = False, out: TextIO | None = None) -> Summary:
    """Process every job; KeyboardInterrupt stops between writes (outputs are complete or absent)."""
    from ..atomic import clean_leftovers

    out = out or sys.stdout
    summary = Summary()
    for folder in sorted({str(j.dst.parent) for j in jobs if j.error is None}):
        clean_leftovers(Path(folder))  # temp files of an earlier run that was killed (SIGKILL, power cut)
    files, new_tile_bar = _bars(len(jobs), quiet)
    state: dict[str, object] = {}

    def on_total(n: int) -> None:
        state["bar"] = new_tile_bar(n)

    def on_tile(n: int) -> None:
        bar = state.get("bar")
        if bar is not None:
            bar.update(n)  # type: ignore[attr-defined]

    try:
        for job in jobs:
            try:
                if job.error is not None:  # the pre-scan failed it: reported in its turn
                    _fail(summary, job.error)
                    continue
                if not check_target(job, inputs, overwrite=opts.overwrite, resume=opts.resume):
                    summary.skipped += 1
                    continue
                process(job, first, rest, opts, on_total=on_total, on_tile=on_tile)
                summary.done += 1
                if not quiet:
                    say(f"{job.src} -> {job.dst}", out)
            except Exception as exc:  # one bad file never stops the others; interrupts pass through
                _fail(summary, failure(job.src, exc))
            finally:
                files.update(1)  # type: ignore[attr-defined]
    finally:
        if state.get("bar") is not None:
            state["bar"].close()  # type: ignore[attr-defined]
        files.close()  # type: ignore[attr-defined]
    return summary
