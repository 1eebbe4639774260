"""The job queue: a fixed number of worker threads (one per CPU by default), FIFO, bounded."""
from __future__ import annotations

import io
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ..errors import WeightsError, ZooError
from .budget import Busy, PixelBudget  # noqa: F401  (Busy: the queue or the pixel budget is full, HTTP 503)
from .engine import FORMATS, JobSpec, ModelCache, run_job

log = logging.getLogger("zoo.serve")


class TooLarge(ZooError):
    """An upload over the byte or pixel limit (HTTP 413)."""


class Stopped(ZooError):
    """Raised inside a running job when the server shuts down."""


@dataclass(kw_only=True)
class Limits:
    """What protects the machine; every field is a `zoo serve` flag."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 4_000_000  # input pixels
    max_output_pixels: int = 64_000_000  # after scaling: bounds the memory one job can take
    max_work_pixels: int = 128_000_000  # output pixels computed at once, jobs and comparison images together
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_queue: int = 32  # waiting jobs; beyond that new uploads get 503
    keep: int = 32  # finished jobs kept in memory for their result and comparison images
    threads: int | None = None  # torch threads per job (None: leave torch's setting alone)
    test_models: bool = False  # also offer cards tagged 'test-only' (zoo serve --test-models)


@dataclass(kw_only=True)
class WebJob:
    """One uploaded image and what became of it."""

    spec: JobSpec
    image: Image.Image
    filename: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "queued"  # queued → running → done | error
    done: int = 0
    total: int = 0
    error: str = ""
    cards: list[str] = field(default_factory=list)
    result: bytes | None = None
    out_size: tuple[int, int] | None = None
    video: Any = None  # the stored upload's path for a video job (serve/video_job.py); `image` is its first frame
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None

    def tick(self, n: int) -> None:
        """Tiles finished (called from the worker thread; ints are assigned atomically)."""
        self.done += n

    def public(self, position: int) -> dict[str, Any]:
        """The job's status as the page polls it."""
        progress = 1.0 if self.state == "done" else min(0.99, self.done / self.total) if self.total else 0.0
        d: dict[str, Any] = {
            "id": self.id, "state": self.state, "position": position, "progress": round(progress, 4),
            "model": self.spec.model, "noise": self.spec.noise, "scale": self.spec.scale, "tta": self.spec.tta,
            "format": self.spec.format, "video": self.video is not None,
            "cards": self.cards, "filename": self.filename,
            "width": self.image.width, "height": self.image.height,
        }
        if self.error:
            d["error"] = self.error
        if self.out_size:
            d["out_width"], d["out_height"] = self.out_size
        if self.started and self.finished:
            d["seconds"] = round(self.finished - self.started, 3)
        return d


def encode_png(img: Image.Image) -> bytes:
    """PNG bytes; a low zlib level because encoding a large result should not take longer than upscaling it."""
    return encode(img, "png")


def encode(img: Image.Image, fmt: str) -> bytes:
    """The result in the chosen format (png, webp, jpeg) through the CLI's writer settings."""
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=3)
        return buf.getvalue()
    name = FORMATS[fmt][0]  # its size limit was checked when the job was made (upload.check_format)
    if name == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")  # JPEG has no alpha
    img.save(buf, format=name, quality=95)
    return buf.getvalue()


class JobQueue:
    """FIFO of jobs run by `limits.jobs` worker threads; stop() cancels a running job at its next tile."""

    def __init__(self, limits: Limits, cache: ModelCache) -> None:
        self.limits, self.cache = limits, cache
        self._jobs: OrderedDict[str, WebJob] = OrderedDict()
        self._waiting: deque[WebJob] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        # comparison images wait here too; a few at most (each waiting one holds a request thread)
        self.budget = PixelBudget(limits.max_work_pixels, max_waiting=max(2, limits.jobs))
        self._threads = [threading.Thread(target=self._work, name=f"zoo-serve-{i}", daemon=True)
                         for i in range(max(1, limits.jobs))]
        for t in self._threads:
            t.start()

    def submit(self, job: WebJob) -> None:
        """Queue a job, or raise Busy when the queue is full."""
        with self._cond:
            if len(self._waiting) >= self.limits.max_queue:
                raise Busy(f"The server is busy ({len(self._waiting)} images waiting). Try again in a moment.")
            self._forget_old()
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._cond.notify()

    def get(self, job_id: str) -> WebJob | None:
        """A job by id (None once forgotten or never known)."""
        with self._cond:
            return self._jobs.get(job_id)

    def position(self, job: WebJob) -> int:
        """1-based place in the queue; 0 once it has started."""
        with self._cond:
            for i, waiting in enumerate(self._waiting):
                if waiting is job:
                    return i + 1
            return 0

    def stop(self, timeout: float = 10.0) -> None:
        """Drop waiting jobs, stop running ones at their next tile and wait for the workers to exit."""
        with self._cond:
            self._stopping = True
            self._waiting.clear()
            self._cond.notify_all()
        # Joined rather than abandoned: a daemon thread killed inside torch at exit aborts the process.
        for t in self._threads:
            t.join(timeout)

    def _tick(self, job: WebJob, n: int) -> None:
        if self._stopping:
            raise Stopped("The server is stopping; the job was cancelled.")
        job.tick(n)

    def _run_video(self, job: WebJob) -> None:
        """A video job: frames for progress; the result is the upscaled clip in its own container."""
        from .engine import plan
        from .video_job import run

        p = plan(job.spec)
        job.cards = [p.first.name] + [p.rest.name] * (p.passes - 1)
        job.result, job.out_size = run(job.video, job.filename, p, self.cache, job.spec,
                                       on_total=lambda n: setattr(job, "total", n), tick=lambda n: self._tick(job, n))

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in ("done", "error")]
        for j in finished[: max(0, len(finished) - self.limits.keep + 1)]:
            del self._jobs[j.id]

    def _work(self) -> None:
        if self.limits.threads:
            import torch

            torch.set_num_threads(self.limits.threads)
        while True:
            with self._cond:
                while not self._waiting and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._waiting.popleft()
                job.state, job.started = "running", time.monotonic()
            self._run(job)

    def _run(self, job: WebJob) -> None:
        w, h = job.image.size
        with self.budget.hold(int(w * h * job.spec.scale ** 2), queued=True):  # the whole output, at most
            self._run_held(job)

    def _run_held(self, job: WebJob) -> None:
        state, error = "done", ""
        try:
            if job.video is not None:
                self._run_video(job)
                job.finished, job.error, job.state = time.monotonic(), "", "done"
                return
            out, job.cards = run_job(job.image, job.spec, self.cache,
                                     on_total=lambda n: setattr(job, "total", n),
                                     tick=lambda n: self._tick(job, n))
            job.result, job.out_size = encode(out, job.spec.format), out.size
        except WeightsError as err:  # the server's own setup (cache folder, disk, files): its paths stay in its log
            log.error("job %s: %s", job.id, err)
            state, error = "error", (f"The server could not load the model '{job.spec.model}'; its log says why "
                                     f"(whoever runs it can try 'zoo fetch {job.spec.model}').")
        except ZooError as err:
            state, error = "error", str(err)
        except MemoryError:
            state, error = "error", "Out of memory: try a smaller image or scale."
        except Exception as err:  # a bug must not kill the worker; the page gets one line, the log the rest
            log.exception("job %s failed", job.id)
            state, error = "error", f"Internal error ({type(err).__name__}). See the server log."
        job.finished, job.error = time.monotonic(), error
        job.state = state  # last, so a poll that sees "done" also sees the result
