"""Debian packages as corpus sources: `apt-get download` (no install, no root needed), unpacked in Python.

A .deb is an `ar` archive of debian-binary, control.tar.* and data.tar.* (gz, xz, bz2, plain, or zst with
the `zstandard` package). Only regular files, folders and links that stay inside the package are
extracted (tarfile's 'data' filter): a link out of the package, a device or a FIFO is never made.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import ZooError

MAX_UNPACKED = 4 << 30  # bytes of files one package may unpack to (openclipart-svg: 173 MB)
MAX_MEMBERS = 200_000  # files in one package (openclipart-svg: 8,298)
MAX_CONTROL = 1 << 20  # bytes of the control archive
TREE_MARK = ".complete-py1"  # trees unpacked by this code (earlier ones, by dpkg-deb, may hold outside links)


class DataSourceError(ZooError):
    """A corpus source could not be fetched or unpacked."""


@dataclass(frozen=True)
class Unpacked:
    """An extracted Debian package: its name, version and root folder."""

    package: str
    version: str
    root: Path


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise DataSourceError(f"'{tool}' is not installed; zoo data downloads Debian packages with it. On Debian/"
                              "Ubuntu it is there by default; elsewhere put the .deb files in a folder and name it "
                              "with --debs DIR (or ZOO_DEBS).")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)


def _local_deb(package: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        found = sorted(p for p in folder.glob(f"{package}_*.deb") if p.is_file())
        if found:
            return found[-1]
    return None


def fetch_deb(package: str, cache: Path) -> Path:
    """The package's .deb: from $ZOO_DEBS folders or the cache, else downloaded with apt-get into the cache."""
    extra = [Path(p) for p in os.environ.get("ZOO_DEBS", "").split(os.pathsep) if p]
    found = _local_deb(package, [*extra, cache])
    if found:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    done = _run(["apt-get", "download", package], cwd=cache)
    found = _local_deb(package, [cache])
    if done.returncode != 0 or found is None:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise DataSourceError(
            f"Could not download Debian package '{package}' (apt-get said: {said[-1] if said else 'nothing'}). "
            "Run 'apt-get update' (as root) and check that a Debian mirror is reachable, or put the .deb in a "
            "folder named by ZOO_DEBS.")
    return found


def _bad(deb: Path, why: str) -> DataSourceError:
    return DataSourceError(f"'{deb}' is not a readable Debian package ({why}). Delete it (or fetch it again) and "
                           "run the command again.")


def ar_members(f: BinaryIO, deb: Path) -> Iterator[tuple[str, int, int]]:
    """(name, offset, size) of each member of an ar archive."""
    if f.read(8) != b"!<arch>\n":
        raise _bad(deb, "no ar header")
    end = os.fstat(f.fileno()).st_size
    while True:
        head = f.read(60)
        if not head:
            return
        if len(head) < 60 or head[58:60] != b"`\n":
            raise _bad(deb, "a damaged ar member header")
        try:
            size = int(head[48:58].decode("ascii").strip() or "x")
        except ValueError:
            raise _bad(deb, "a damaged ar member size") from None
        at = f.tell()
        if size < 0 or at + size > end:
            raise _bad(deb, "an ar member runs past the end of the file")
        yield head[:16].decode("ascii", "replace").strip().rstrip("/"), at, size
        f.seek(at + size + (size & 1))


class _Slice(io.RawIOBase):
    """A read-only window [start, start+size) of an open file."""

    def __init__(self, f: BinaryIO, start: int, size: int) -> None:
        self.f, self.pos, self.end = f, start, start + size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray) -> int:  # type: ignore[override]
        n = min(len(buf), self.end - self.pos)
        if n <= 0:
            return 0
        self.f.seek(self.pos)
        data = self.f.read(n)
        buf[:len(data)] = data
        self.pos += len(data)
        return len(data)


def _tar_stream(deb: Path, f: BinaryIO, name: str, start: int, size: int) -> tarfile.TarFile:
    """A streaming TarFile over one ar member, decompressed by its suffix."""
    raw = io.BufferedReader(_Slice(f, start, size), 1 << 16)
    if name.endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise DataSourceError(f"'{deb}' is compressed with zstd (Ubuntu's packages are), which needs the "
                                  "zstandard package. Fix: .venv/bin/pip install zstandard") from None
        raw = zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[assignment]
        return tarfile.open(fileobj=raw, mode="r|")
    modes = {".gz": "r|gz", ".xz": "r|xz", ".bz2": "r|bz2", ".tar": "r|"}
    mode = next((m for suffix, m in modes.items() if name.endswith(suffix)), None)
    if mode is None:
        raise _bad(deb, f"member '{name}' has an unknown compression")
    return tarfile.open(fileobj=raw, mode=mode)


def _read_version(deb: Path, f: BinaryIO, name: str, start: int, size: int) -> str:
    if size > MAX_CONTROL:
        raise _bad(deb, "control archive over 1 MB")
    with _tar_stream(deb, f, name, start, size) as tar:
        for member in tar:
            if member.isfile() and member.name.lstrip("./") == "control" and member.size <= MAX_CONTROL:
                text = tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
                for line in text.splitlines():
                    if line.startswith("Version:"):
                        version = line.split(":", 1)[1].strip()
                        if version and "/" not in version and "\0" not in version and len(version) < 200:
                            return version
    raise _bad(deb, "no usable Version in its control file")


def _safe_members(tar: tarfile.TarFile, root: Path, deb: Path) -> Iterator[tarfile.TarInfo]:
    """Members that the 'data' filter passes (inside `root`, no devices or FIFOs), within the size limits."""
    total = count = 0
    for member in tar:
        count += 1
        total += max(0, member.size)
        if count > MAX_MEMBERS or total > MAX_UNPACKED:
            raise _bad(deb, f"over {MAX_MEMBERS} files or {MAX_UNPACKED >> 30} GB unpacked")
        try:
            safe = tarfile.data_filter(member, str(root))
        except tarfile.FilterError:
            continue  # a link out of the package, an absolute path, a device or a FIFO: never extracted
        if safe.isfile() or safe.isdir() or safe.issym() or safe.islnk():
            yield safe


@contextlib.contextmanager
def _reading(deb: Path, root: Path | None = None) -> Iterator[None]:
    """A damaged archive is one DataSourceError (what to do); a full disk or a read-only cache another."""
    try:
        yield
    except ZooError:
        raise
    except OSError as exc:
        if exc.errno is None:  # gzip's BadGzipFile and kin: damaged data, not the file system
            raise _bad(deb, _said(exc)) from None
        where = f" into '{root}'" if root else ""
        raise DataSourceError(f"Could not read '{deb}'{where} ({exc.strerror}). Check the disk space and the "
                              "permissions of ZOO_HOME.") from None
    except Exception as exc:  # noqa: BLE001 - tarfile, lzma, zlib, bz2 and zstandard each raise their own
        raise _bad(deb, _said(exc)) from None


def _said(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _members(deb: Path, f: BinaryIO) -> dict[str, tuple[int, int]]:
    members = {name: (at, size) for name, at, size in ar_members(f, deb)}
    if not any(n.startswith("control.tar") for n in members) or not any(n.startswith("data.tar") for n in members):
        raise _bad(deb, "no control.tar or no data.tar member")
    return members


def _deb_version(deb: Path) -> str:
    with _reading(deb), open(deb, "rb") as f:
        members = _members(deb, f)
        control = next(n for n in members if n.startswith("control.tar"))
        return _read_version(deb, f, control, *members[control])


def _extract(deb: Path, root: Path) -> None:
    """Unpack the data archive of `deb` into `root` (filtered: see _safe_members)."""
    with _reading(deb, root), open(deb, "rb") as f:
        members = _members(deb, f)
        data = next(n for n in members if n.startswith("data.tar"))
        with _tar_stream(deb, f, data, *members[data]) as tar:
            for member in _safe_members(tar, root, deb):
                tar.extract(member, root, set_attrs=False, filter="fully_trusted")  # filtered above


def unpack(package: str, cache: Path) -> Unpacked:
    """Fetch and extract a package once; later calls reuse the extracted tree."""
    deb = fetch_deb(package, cache)
    version = _deb_version(deb)
    root = cache / f"{package}_{version.replace(':', '%3a')}"
    if not (root / TREE_MARK).exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        _extract(deb, root)
        (root / TREE_MARK).touch()
    return Unpacked(package, version, root)


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, links resolved, is a regular file inside `root` (a link out or a FIFO is not)."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real.startswith(base + os.sep) and os.path.isfile(real)
