"""The Starlette app: one page, its static files and a small JSON API (errors are {"error": "one line"})."""
from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import ZooError
from .engine import FORMATS, MAX_SCALE, Loader, ModelCache, default_name, list_entries, pass_cards
from .jobs import Busy, JobQueue, Limits, TooLarge, WebJob, encode_png
from .upload import _check_pixels as check_pixels
from .upload import check_format, decode, parse_spec, read_form, upload_file
from .video_job import MEDIA, is_video, out_suffix
from .video_job import prepare as prepare_video

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")  # hosts that only this machine reaches (no warning)
BASELINE_WAIT_S = 30.0  # a comparison image waits this long for room in the pixel budget, then 503
log = logging.getLogger("zoo.serve")
STATUS = {TooLarge: 413, Busy: 503}


def error(message: str, status: int) -> JSONResponse:
    """The one error shape the page shows."""
    return JSONResponse({"error": message}, status_code=status)


def zoo_error(err: ZooError) -> JSONResponse:
    """A ZooError with its HTTP status (400 unless it is a size or capacity problem)."""
    return error(str(err), next((s for cls, s in STATUS.items() if isinstance(err, cls)), 400))


def static_dir() -> str:
    """The folder of index.html, app.js and style.css inside the installed package."""
    from importlib import resources

    return str(resources.files("zoo_core.serve") / "static")


def download_name(job: WebJob) -> str:
    """`picture-upconv7-noise2-4x.png`: the input's stem, the model that ran (first pass), scale and format."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", job.filename.rsplit(".", 1)[0])[:80] or "image"
    model = job.cards[0] if job.cards else job.spec.model
    ext = out_suffix(job.filename)[1:] if job.video is not None else {"jpeg": "jpg"}.get(job.spec.format, job.spec.format)
    return f"{stem}-{model}-{job.spec.scale:g}x.{ext}"


class Api:
    """The handlers, sharing one queue and one model cache."""

    def __init__(self, limits: Limits, loader: Loader | None) -> None:
        self.limits = limits
        self.queue = JobQueue(limits, ModelCache(loader=loader))

    async def index(self, request: Request) -> Response:
        return FileResponse(f"{static_dir()}/index.html", headers={"Cache-Control": "no-cache"})

    async def models(self, request: Request) -> Response:
        limits = {k: getattr(self.limits, k) for k in ("max_bytes", "max_pixels", "max_output_pixels", "jobs")}
        return JSONResponse({"models": list_entries(test_models=self.limits.test_models), "limits": limits,
                             "default": default_name(), "formats": list(FORMATS), "max_scale": MAX_SCALE})

    async def create_job(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            # Another web site's page must not be able to make this machine work (no CORS here).
            return error("Uploads from other web sites are refused.", 403)
        try:
            form = await read_form(request, self.limits)
            try:
                spec = parse_spec(form)
                pass_cards(spec)  # reject a bad noise level or scale now, not in the queue
                item = upload_file(form)
                name = item.filename or "image"
                data = await item.read()
            finally:
                await form.close()
            video = None
            if is_video(name):  # a short clip: the CLI's video job (serve/video_job.py)
                video, image = await run_in_threadpool(prepare_video, data, name, self.limits, spec.scale, check_pixels)
            else:
                image = await run_in_threadpool(decode, data, name, self.limits, spec.scale)
                check_format(image.size, spec.scale, spec.format)
            job = WebJob(spec=spec, image=image, filename=name, video=video)
            self.queue.submit(job)
        except ZooError as err:
            return zoo_error(err)
        return JSONResponse(job.public(self.queue.position(job)), status_code=202)

    def _job(self, request: Request) -> WebJob:
        job = self.queue.get(request.path_params["job_id"])
        if job is None:
            raise HTTPException(404, "No such job (it may have been forgotten: the server keeps the last "
                                     f"{self.limits.keep}). Upload the image again.")
        return job

    async def job_status(self, request: Request) -> Response:
        job = self._job(request)
        return JSONResponse(job.public(self.queue.position(job)), headers={"Cache-Control": "no-store"})

    async def job_result(self, request: Request) -> Response:
        job = self._job(request)
        if job.result is None:
            return error(f"The job is {job.state}; there is no result{': ' + job.error if job.error else ' yet'}.", 409)
        headers = {"Cache-Control": "no-store"}
        if request.query_params.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{download_name(job)}"'
        media = MEDIA[out_suffix(job.filename)] if job.video is not None else FORMATS[job.spec.format][1]
        return Response(job.result, media_type=media, headers=headers)

    async def job_baseline(self, request: Request) -> Response:
        """The input enlarged to the output's size by a plain filter: the 'before' of the comparison."""
        job = self._job(request)
        method = request.query_params.get("method", "bicubic")
        filters = {"nearest": Image.Resampling.NEAREST, "bicubic": Image.Resampling.BICUBIC}
        if method not in filters:
            return error(f"Unknown method '{method}'; use nearest or bicubic.", 400)
        if job.out_size is None:
            return error(f"The job is {job.state}; the comparison exists once it is done.", 409)
        size = job.out_size

        def render() -> bytes:
            # under the server's pixel budget: 24 of these at once on a 64-megapixel result took 7 GB
            with self.queue.budget.hold(size[0] * size[1], timeout=BASELINE_WAIT_S):
                src = job.image if job.image.mode in ("RGB", "RGBA") else job.image.convert("RGBA")
                return encode_png(src.resize(size, filters[method]))

        try:
            png = await run_in_threadpool(render)
        except ZooError as err:
            return zoo_error(err)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


async def http_error(request: Request, exc: Exception) -> Response:
    """404s and the like as the same JSON the page shows."""
    assert isinstance(exc, HTTPException)
    return error(str(exc.detail), exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected keeps the JSON shape too (never a plain-text 500); the log has the traceback."""
    if isinstance(exc, MemoryError):
        return error("The server ran out of memory for this request; try a smaller image or scale.", 503)
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error(f"Internal error ({type(exc).__name__}). See the server log.", 500)


def create_app(limits: Limits | None = None, *, host: str = "127.0.0.1", loader: Loader | None = None) -> Starlette:
    """The web app; `loader` replaces zoo.load (tests use it to hold a job in place)."""
    api = Api(limits or Limits(), loader)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        api.queue.stop()

    routes: list[Any] = [
        Route("/", api.index),
        Route("/api/models", api.models),
        Route("/api/jobs", api.create_job, methods=["POST"]),
        Route("/api/jobs/{job_id:str}", api.job_status),
        Route("/api/jobs/{job_id:str}/result", api.job_result),
        Route("/api/jobs/{job_id:str}/baseline", api.job_baseline),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]
    # On loopback, refuse other Host names: a DNS-rebinding page cannot then reach this server.
    hosts = list(LOOPBACK) if host in LOOPBACK else ["*"]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.api = api
    return app
