"""SVG to pixels for corpora: resvg (PyPI `resvg-py`, a wheel with no system library), pinned, no system
fonts and no outside files, so every machine renders the same pixels; each file in a worker process
with a time and memory limit, and a time budget for all files of a build."""
from __future__ import annotations

import io
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import time
from typing import BinaryIO

from PIL import Image

from ..errors import ZooError

RESVG_PY = "0.5.0"  # the pinned renderer (pyproject); a corpus rendered with it names it in its version
MAX_SVG_BYTES = 8 << 20  # the curated Open Clip Art files are at most 1.7 MB
MAX_SIDE = 4096
RENDER_SECONDS = 20.0  # CPU seconds for one file; the slowest curated file takes about 3.5 s on the 2-core box
BUDGET_SECONDS = 7200.0  # all files of one build together (the curated 1,625: about 15 min on one core)
WALL_FACTOR = 10  # a render waiting for a core may take this many times its CPU limit in wall time
STARTUP_SECONDS = 120.0  # the worker's interpreter and resvg loading, not counted in a file's time
WORKER_MEMORY = 2 << 30  # bytes of address space for the worker: a file cannot take the machine's memory
# <image>/<feImage> hrefs other than a fragment or an inline raster picture (a file, a URL, an inline SVG that
# could name files itself) are blanked; attribute values are skipped whole, so a '>' in one hides nothing
_OUTSIDE_HREF = re.compile(rb"(<(?:[\w.-]+:)?(?:image|feImage)\b(?:[^>'\"]|'[^']*'|\"[^\"]*\")*?\s(?:[\w.-]+:)?href\s*=\s*)"
                           rb"(['\"])(?!\2|\s*(?:#|data:image/(?:png|jpeg|jpg|gif|webp)[;,]))[^'\"]*\2", re.IGNORECASE)
_MARKUP_ENTITY = re.compile(rb"<!ENTITY[^>]*(?:SYSTEM|PUBLIC|<)", re.IGNORECASE)


class SvgError(ZooError):
    """An SVG that zoo will not or cannot render (too big, too slow, outside references, broken)."""


def renderer_problem() -> str | None:
    """Why the pinned renderer cannot be used here (one line with the fix), or None when it can."""
    try:
        import resvg_py
    except ImportError:
        return f"the SVG renderer resvg-py is not installed. Fix: .venv/bin/pip install resvg-py=={RESVG_PY}"
    got = getattr(resvg_py, "__version__", "?")
    if got != RESVG_PY:
        return (f"resvg-py {got} is installed; the corpus is rendered with {RESVG_PY} so that every machine makes "
                f"the same pixels. Fix: .venv/bin/pip install resvg-py=={RESVG_PY}")
    return None


def neutralise(data: bytes) -> bytes:
    """The SVG with every reference to an outside file blanked; SvgError for entities that could hide one."""
    if len(data) > MAX_SVG_BYTES:
        raise SvgError(f"SVG over {MAX_SVG_BYTES >> 20} MB")
    if _MARKUP_ENTITY.search(data):
        raise SvgError("SVG declares external or markup entities")
    while True:  # again until nothing changes: one pass blanks one href per element
        blanked = _OUTSIDE_HREF.sub(lambda m: m.group(1) + m.group(2) * 2, data)
        if blanked == data:
            return data
        data = blanked


def render_svg(data: bytes, side: int) -> Image.Image:
    """Render in this process, fitted into side×side (aspect kept), as RGBA."""
    import resvg_py

    if not 1 <= side <= MAX_SIDE:
        raise ValueError(f"render side {side} is outside 1..{MAX_SIDE}")
    with tempfile.TemporaryDirectory() as empty:  # relative references resolve to nothing
        try:
            png = resvg_py.svg_to_bytes(svg_string=neutralise(data).decode("utf-8", "replace"), width=side,
                                        height=side, dpi=96.0, skip_system_fonts=True, resources_dir=empty)
        except SvgError:
            raise
        except Exception as exc:  # noqa: BLE001 - the binding raises plain exceptions for bad SVG
            raise SvgError("SVG does not render") from None
    img = Image.open(io.BytesIO(bytes(png)))
    img.load()
    return img.convert("RGBA")


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process (or its zombie) has used; None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _used(pid: int, cpu0: float | None, t0: float) -> float:
    """Seconds of CPU the worker spent since (cpu0, t0); wall seconds where the CPU time is unknown."""
    cpu = _cpu_seconds(pid) if cpu0 is not None else None
    return cpu - cpu0 if cpu is not None and cpu0 is not None else time.monotonic() - t0


_HEAD = struct.Struct("<II")  # request: side, length; reply: width, height (0, 0: an error of `length` bytes)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Worker loop (python -m zoo_core.data.svg): SVGs in, RGBA pixels or one-line errors out."""
    import resource

    import resvg_py  # noqa: F401 - loaded before 'ready', so a file's time is its render alone

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    stdout.write(b"R")
    stdout.flush()
    while True:
        try:
            side, n = _HEAD.unpack(_read_exact(stdin, _HEAD.size))
            data = _read_exact(stdin, n)
        except EOFError:
            return
        try:
            img = render_svg(data, side)
            out, size = img.tobytes(), img.size
        except SvgError as exc:
            out, size = str(exc).encode(), (0, 0)
        except MemoryError:
            out, size = b"SVG rendering needs too much memory", (0, 0)
        stdout.write(_HEAD.pack(*size) + struct.pack("<I", len(out)) + out)
        stdout.flush()


class Renderer:
    """Renders SVGs in a worker process, one at a time; a file over its time is killed with the worker."""

    def __init__(self, timeout: float = RENDER_SECONDS, budget: float = BUDGET_SECONDS) -> None:
        self.timeout, self.budget, self.spent = timeout, budget, 0.0
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        # a fresh interpreter, not a fork: the parent may hold threads (torch, tqdm) and any main module
        self._proc = subprocess.Popen([sys.executable, "-m", "zoo_core.data.svg"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        fd = self._proc.stdout.fileno()  # type: ignore[union-attr]
        if not select.select([fd], [], [], STARTUP_SECONDS)[0] or os.read(fd, 1) != b"R":
            self.close()
            raise SvgError("the SVG renderer did not start")
        return self._proc

    def _reply(self, proc: subprocess.Popen, limit: float) -> tuple[int, int, bytes] | None:
        """(width, height, payload), or None once the worker has spent `limit` s of CPU on it.

        CPU time, not wall time: on a loaded machine a file waiting for a core is not a slow file. The wall
        clock still ends it at WALL_FACTOR × `limit`.
        """
        fd, buf = proc.stdout.fileno(), bytearray()  # type: ignore[union-attr]
        need, t0, cpu0 = _HEAD.size + 4, time.monotonic(), _cpu_seconds(proc.pid)
        while len(buf) < need:
            if not select.select([fd], [], [], 0.25)[0]:
                wall = time.monotonic() - t0
                if wall > WALL_FACTOR * limit or (wall > limit and _used(proc.pid, cpu0, t0) > limit):
                    return None
                continue
            chunk = os.read(fd, max(1 << 16, need - len(buf)))
            if not chunk:
                raise EOFError
            buf += chunk
            if len(buf) >= _HEAD.size + 4 and need == _HEAD.size + 4:
                need += struct.unpack_from("<I", buf, _HEAD.size)[0]
        w, h = _HEAD.unpack_from(buf)
        return w, h, bytes(buf[_HEAD.size + 4:need])

    def render(self, data: bytes, side: int) -> Image.Image:
        """The SVG as RGBA; SvgError when it is refused, fails, runs over its time or the build's budget."""
        if self.spent >= self.budget:
            raise SvgError(f"the build's SVG time budget ({self.budget:g} s) is spent")
        if len(data) > MAX_SVG_BYTES:
            raise SvgError(f"SVG over {MAX_SVG_BYTES >> 20} MB")
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        t0, cpu0, limit = time.monotonic(), _cpu_seconds(proc.pid), min(self.timeout, self.budget - self.spent)
        try:
            proc.stdin.write(_HEAD.pack(side, len(data)) + data)  # type: ignore[union-attr]
            reply = self._reply(proc, limit)
        except (EOFError, OSError):
            reply = ()  # crashed: its zombie still tells its CPU time below
        self.spent += _used(proc.pid, cpu0, t0)  # the budget counts CPU time too
        if reply == ():
            self.close()
            raise SvgError("the SVG renderer crashed on this file")
        if reply is None:
            self.close()
            if limit < self.timeout:
                raise SvgError(f"the build's SVG time budget ({self.budget:g} s) is spent")
            raise SvgError(f"SVG render took over {self.timeout:g} s")
        w, h, payload = reply
        if w == 0 or h == 0:
            raise SvgError(payload.decode("utf-8", "replace"))
        return Image.frombytes("RGBA", (w, h), payload)

    def close(self) -> None:
        """Stop the worker (killed: it may be stuck in a render)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
        self._proc = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
