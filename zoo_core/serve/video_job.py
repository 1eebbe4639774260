"""A short video uploaded to `zoo serve`: checked as `zoo upscale` checks it, upscaled by the same video job
(infer/video.py), returned in its own container with every other stream kept; progress counts frames."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ..errors import ImageError
from ..infer.formats import VIDEO_SUFFIXES

MAX_SECONDS = 60.0  # a short clip: a web request is no place for an episode (`zoo upscale` takes those)
MEDIA = {".mkv": "video/x-matroska", ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
         ".webm": "video/webm"}


def is_video(name: str) -> bool:
    """Whether an upload's name says video."""
    return Path(name).suffix.lower() in VIDEO_SUFFIXES


def out_suffix(name: str) -> str:
    """The result's container: the upload's own where zoo writes it, else Matroska."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in MEDIA else ".mkv"


def prepare(data: bytes, name: str, limits: Any, scale: float,
            check_pixels: Callable[[tuple[int, int], str, Any, float], None]) -> tuple[Path, Image.Image]:
    """Store the upload in a private temp folder and check it (streams, length, size); (its path, first frame)."""
    from ..infer.video import first_look, scan
    from ..infer.video_frames import to_rgb
    from ..infer.video_plan import VideoOptions, plan_video

    folder = Path(tempfile.mkdtemp(prefix="zoo-serve-video-"))
    src = folder / ("input" + Path(name).suffix.lower())
    src.write_bytes(data)
    try:
        plan = plan_video(src, folder / ("out" + out_suffix(name)), VideoOptions())
        lk, tb, rate, frames = first_look(plan)
        check_pixels((lk.width, lk.height), name, limits, scale)
        frames = scan(plan) or frames
        seconds = frames / float(rate or 25)
        if seconds > MAX_SECONDS:
            raise ImageError(f"{name}: {seconds:.0f} s is longer than the {MAX_SECONDS:.0f} s this page takes; "
                             "upscale long videos with 'zoo upscale' (docs/video.md).")
        import av

        with av.open(str(src)) as c:
            first = Image.fromarray(to_rgb(next(c.decode(video=plan.video)), False))
        return src, first
    except ImageError as err:
        shutil.rmtree(folder, ignore_errors=True)
        raise ImageError(str(err).replace(str(src), name)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def run(src: Path, filename: str, plan: Any, cache: Any, spec: Any, *, on_total: Callable[[int], None],
        tick: Callable[[int], None]) -> tuple[bytes, tuple[int, int]]:
    """Upscale the stored clip through the CLI's video job; (the result's bytes, its frame size). Cleans up."""
    from ..infer.batch import Options, upscale_one
    from ..infer.modes import Picture
    from ..infer.video import process_video, scan
    from ..infer.video_plan import VideoOptions, plan_video

    try:
        first = cache.get(plan.first.name)
        rest = first if plan.rest.name == plan.first.name else cache.get(plan.rest.name)
        opts = Options(scale=spec.scale, tta=spec.tta)
        dst = src.parent / ("out" + out_suffix(filename))
        on_total(max(1, scan(plan_video(src, dst, VideoOptions()))))
        size: list[tuple[int, int]] = []

        def upscale(arr: Any) -> Any:
            out = upscale_one(Picture(pixels=arr), first, rest, opts, None).pixels
            size[:] = [(out.shape[1], out.shape[0])]
            tick(1)
            return out
        model = {"first": first.card.name, "rest": rest.card.name}
        process_video(src, dst, VideoOptions(), upscale, spec.scale, model, resume=False, quiet=True)
        return dst.read_bytes(), size[0]
    except ImageError as err:  # the page names its own file, never the server's temp folder
        raise ImageError(str(err).replace(str(src), filename)) from None
    finally:
        shutil.rmtree(src.parent, ignore_errors=True)
