"""Which files to upscale and where each result goes: folders, -r, globs, .txt lists, output names."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ImageError, ZooError
from .formats import FORMATS, IMAGE_SUFFIXES, SUFFIX, VIDEO_SUFFIXES, WRITES
GLOB_CHARS = "*?["
ANIMATED = ("GIF", "WEBP", "PNG", "AVIF")  # containers an animation keeps (zoo writes no HEIF/JXL sequences)


@dataclass(frozen=True)
class Item:
    """An input file and its path relative to the folder it was found in (kept under the output folder).

    `error` is set for an input that cannot be used (an unreadable folder): it is reported in its turn.
    """

    src: Path
    rel: Path
    error: str | None = None


@dataclass(frozen=True)
class Job:
    """One input, its output path and the output format; `error` when the pre-scan already failed it."""

    src: Path
    dst: Path
    fmt: str  # Pillow format name
    animated: bool
    error: str | None = None


def real(path: Path) -> str:
    """The path with links and '..' resolved; never raises (a link loop stays as it is)."""
    return os.path.realpath(path)


def _walk(folder: Path, recursive: bool, exclude: str | None) -> list[Item]:
    found: list[Item] = []

    def unreadable(exc: OSError) -> None:  # os.walk would skip the folder silently
        where = Path(exc.filename or folder)
        found.append(Item(where, Path(where.name or "folder"), f"{quoted(where)}: cannot read this folder "
                          f"({exc.strerror or exc}); its images were skipped. Fix its permissions or leave it out."))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if recursive and not d.startswith(".")
                         and (exclude is None or real(here / d) != exclude))
        for name in sorted(files):
            p = here / name
            if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES and not name.startswith("."):
                found.append(Item(p, p.relative_to(folder)))
    return found


def _read_list(path: Path) -> list[str]:
    """Paths listed one a line in a .txt file (blank lines and # comments skipped), relative to the list."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ZooError(f"{quoted(path)}: cannot read the list of inputs ({exc}).") from None
    out = []
    for line in (ln.strip() for ln in lines):
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            out.append(str(p if p.is_absolute() or os.path.lexists(p) else path.parent / p))
    return out


def collect(inputs: Iterable[str | Path], *, recursive: bool = False, exclude: Path | None = None,
            _lists: frozenset[str] = frozenset()) -> list[Item]:
    """Expand folders (recursively with -r), globs and .txt lists into image files, in a stable order.

    Files named explicitly are kept whatever their suffix (a bad one is reported when processed);
    files inside folders are taken only when their suffix is an image suffix. Duplicates are dropped,
    and so is a .txt list met again inside itself (lists that include each other).
    """
    skip = real(exclude) if exclude else None
    items: list[Item] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if os.path.isdir(p):  # os.path never raises (a name too long is simply not a folder)
            items += _walk(p, recursive, skip)
        elif p.suffix.lower() == ".txt" and os.path.isfile(p):
            if real(p) not in _lists:
                items += collect(_read_list(p), recursive=recursive, exclude=exclude, _lists=_lists | {real(p)})
        elif not os.path.lexists(p) and any(ch in str(raw) for ch in GLOB_CHARS):
            matches = sorted(glob.glob(str(p), recursive=recursive))
            if not matches:
                raise ZooError(f"'{quoted(raw)}' matches no file.")
            items += collect(matches, recursive=recursive, exclude=exclude, _lists=_lists)
        else:
            items.append(Item(p, Path(p.name)))
    seen: set[str] = set()
    unique = []
    for it in items:
        key = real(it.src)
        if key not in seen:
            seen.add(key)
            unique.append(it)
    return unique


def _probe(path: Path, limit: int | None) -> tuple[bool, str | None]:
    """(animated?, container format), opening the file as the upscale will: it fails here if it would there."""
    from .imageio import opened

    with opened(path, limit) as im:
        return bool(getattr(im, "is_animated", False)) and int(getattr(im, "n_frames", 1)) > 1, im.format


def plan(items: list[Item], output: Path, *, fmt: str | None = None, limit: int | None = None) -> list[Job]:
    """(input, output) jobs. One input may go to a file path; otherwise `output` is a folder.

    Stills default to PNG; animations keep their container (GIF, WebP, APNG) unless --format says.
    Names are `stem.ext` (never `a.png.png`); two inputs that would share a name keep their suffix.
    Each file is opened here under the same error handling as the upscale: a bad one becomes a job
    that fails alone, in its turn.
    """
    chosen = FORMATS[fmt.lower()] if fmt else None
    single_file = len(items) == 1 and output.suffix != "" and not os.path.isdir(output)
    jobs, names = [], {}
    for it in items:
        error = it.error
        animated, container = False, None
        if it.src.suffix.lower() in VIDEO_SUFFIXES:
            if single_file:
                return [Job(it.src, _video_output(it.src, output), "VIDEO", False, error)]
            base = it.rel.with_suffix(_video_suffix(it.src))
            names.setdefault(base, []).append(it)
            jobs.append((it, "VIDEO", False, base, error))  # checked by the video job itself, before any work
            continue
        if error is None:
            try:
                animated, container = _probe(it.src, limit)
            except BaseException as exc:  # noqa: B036 - failure() re-raises interrupts
                error = failure(it.src, exc)
        f = chosen or (container if animated and container in ANIMATED else "PNG")
        if single_file:
            out_fmt = chosen or FORMATS.get(output.suffix.lstrip(".").lower())
            if out_fmt is None:
                raise ImageError(f"{quoted(output)}: unknown output format '{output.suffix}'. Use {WRITES}"
                                 + (" (a video output needs a video input)." if output.suffix.lower() in VIDEO_SUFFIXES
                                    else "."))
            return [Job(it.src, output, out_fmt, animated, error)]
        ext = SUFFIX[f]
        base = it.rel.with_suffix(ext)
        names.setdefault(base, []).append(it)
        jobs.append((it, f, animated, base, error))
    out = []
    for it, f, animated, base, error in jobs:
        rel = base
        ext = SUFFIX.get(f) or base.suffix
        if len(names[base]) > 1 and it.src.suffix.lower() != ext:
            rel = it.rel.with_name(it.rel.name + ext)  # a.jpg and a.png both given: a.jpg.png, a.png
        out.append(Job(it.src, output / rel, f, animated, error))
    return _one_writer_per_output(out)


def _video_suffix(src: Path) -> str:
    """A video keeps its container when zoo writes that container, else goes to Matroska (which takes all)."""
    from .video_plan import CONTAINERS

    return src.suffix.lower() if src.suffix.lower() in CONTAINERS else ".mkv"


def _video_output(src: Path, output: Path) -> Path:
    """`-o FILE` for one video: a video container suffix, else one line naming them."""
    from .video_plan import CONTAINERS, VIDEO_OUT

    if output.suffix.lower() not in CONTAINERS:
        raise ImageError(f"{quoted(src)} is a video, but -o {quoted(output)} is not a video file; use {VIDEO_OUT}.")
    return output


def _one_writer_per_output(jobs: list[Job]) -> list[Job]:
    """Fail every job whose output another (earlier) job already writes: a.png from two folders into one -o."""
    owner: dict[str, Job] = {}
    out = []
    for job in jobs:
        first = owner.setdefault(real(job.dst), job) if job.error is None else job  # a failed job writes nothing
        if first is not job:
            job = Job(job.src, job.dst, job.fmt, job.animated,
                      f"{quoted(job.src)}: would be written to {quoted(job.dst)}, as {quoted(first.src)} is; "
                      "zoo never writes two inputs to one output. Upscale them into separate -o folders or rename one.")
        out.append(job)
    return out


def failure(src: Path, exc: BaseException) -> str:
    """The one line for a file that failed; interrupts are re-raised (shared by the pre-scan and the run)."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        raise exc
    if isinstance(exc, ZooError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{quoted(src)}: out of memory; try a smaller --tile or --batch 1."
    return f"{quoted(src)}: unexpected {type(exc).__name__}: {exc} (please report this)."


def quoted(path: object) -> str:
    """A path as text for a message, control characters escaped so a file name cannot forge a line."""
    from ..errors import one_line

    return one_line(str(path))


def check_target(job: Job, inputs: set[str], *, overwrite: bool, resume: bool) -> bool:
    """True to process, False to skip (--resume and done); ZooError when the target must not be written."""
    if real(job.dst) in inputs:
        raise ZooError(f"{quoted(job.dst)}: is an input file; zoo never overwrites inputs. Choose another -o.")
    if os.path.lexists(job.dst):  # a dangling or looping link counts: never replaced silently
        if resume:
            return False
        if not overwrite:
            raise ZooError(f"{quoted(job.dst)}: already exists; pass --overwrite to replace it or --resume to skip it.")
    return True
