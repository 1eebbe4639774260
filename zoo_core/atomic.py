"""The one rule for every command that writes a file.

Never over an input of the same command; a temp file in the target's folder, renamed into place only
when complete; the temp file removed on any exception, Ctrl-C (SIGINT) and SIGTERM; and a temp file left
by a killed process (SIGKILL, power cut) removed by the next run that writes into that folder.
Temp names carry the writer's process id, `.NAME.zoo<PID>-XXXX.part`, so a live writer's file is never
taken for a leftover. And only a new name or a regular file is ever replaced: never a folder, a device
(/dev/null), a pipe or a socket, nor a symbolic link to one (`writable_target`).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from .errors import ZooError

SUFFIX = ".part"
LEFTOVER = re.compile(r"^\..+\.zoo(\d+)-[^/]*\.part$")
HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) raised as an interrupt, so the same cleanup as Ctrl-C runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def fs_reason(exc: OSError) -> str:
    """'(what went wrong). The fix.' for the filesystem errors a user can cause or mend."""
    code, what = exc.errno, exc.strerror or str(exc)
    advice = {
        errno.EACCES: " Fix: choose a folder you can write to, or change its permissions.",
        errno.EPERM: " Fix: choose a folder you can write to, or change its permissions.",
        errno.ENOSPC: " The disk is full. Fix: free some space or write somewhere else.",
        errno.EDQUOT: " The disk quota is used up. Fix: free some space or write somewhere else.",
        errno.ENOTDIR: " Part of the path is a file, not a folder. Fix: give a folder path.",
        errno.EEXIST: " A file of that name is in the way of a folder. Fix: give a folder path.",
        errno.EROFS: " Fix: write somewhere else.",
        errno.ELOOP: " A symbolic link points back to itself. Fix: remove or repair the link.",
        errno.ENAMETOOLONG: " Fix: use a shorter file or folder name.",
    }.get(code or 0, "")
    return f"({what}).{advice}"


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links, '..', or hard links); False when either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs(out: Path, inputs: Iterable[Path], error: type[ZooError] = ZooError, flag: str = "-o") -> None:
    """Raise `error` when `out` is one of this command's inputs: zoo never writes over an input."""
    for src in inputs:
        if same_file(Path(out), Path(src)):
            raise error(f"{out}: is an input of this command; zoo never overwrites inputs. Choose another {flag}.")


KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
         (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def writable_target(path: Path, error: type[ZooError] = ZooError) -> None:
    """Raise `error` unless `path` is a new name, a regular file, or a link to one (or to nothing): the only things
    a rename may replace. A device or pipe would be swapped for a plain file; a link to one means the device."""
    try:
        mode = os.lstat(path).st_mode
        link = stat.S_ISLNK(mode)
        if link:
            mode = os.stat(path).st_mode
    except OSError:  # no such name, a dangling or looping link: the write itself says what is wrong, if anything
        return
    kind = next((what for test, what in KINDS if test(mode)), None if stat.S_ISREG(mode) else "not a regular file")
    if kind:
        shown = f"is a symbolic link to {kind}" if link else f"is {kind}"
        raise error(f"{path}: {shown}; zoo writes only regular files and never replaces anything else. "
                    "Give a file name (a new one, or a regular file to replace).")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove temp files of ours whose writer is gone; return what was removed (errors ignored)."""
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = LEFTOVER.match(name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(Path(folder) / name)
                removed.append(Path(folder) / name)
    return removed


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM while a temp file is created and recorded: no instant where it exists unknown.

    A signal mask would not do: another thread (OpenMP, tqdm) can take a process-wide signal, and Python
    then runs the handler in the main thread at once. So the handlers themselves wait, then re-raise.
    """
    pending: list[int] = []
    saved: dict[int, object] = {}
    try:
        for sig in HELD:
            saved[sig] = signal.signal(sig, lambda signum, _frame: pending.append(signum))
    except ValueError:  # not the main thread: Python runs no handler here anyway
        pass
    try:
        yield
    finally:
        for sig, old in saved.items():
            if old is not None:  # None: a handler not set from Python; leave it
                signal.signal(sig, old)  # type: ignore[arg-type]
        for sig in pending:
            signal.raise_signal(sig)  # now, with the temp file known to the caller's cleanup


def atomic_write(path: Path, write: Callable[[BinaryIO], None], error: type[ZooError] = ZooError) -> None:
    """Write through `write` into a temp file beside `path`, then rename; `error` on a filesystem failure.

    For its duration SIGTERM (and SIGHUP) raise `Terminated`, so the temp file is removed as on Ctrl-C,
    whichever command is writing; outside a write there is no temp file to lose.
    """
    path = Path(path)
    tmp: str | None = None
    with interrupt_on_term():
        try:
            writable_target(path, error)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                _clean_once(path.parent)
                with _signals_held():
                    # the name is cut so that a long target name still leaves room for the temp name's additions
                    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:120]}.zoo{os.getpid()}-", suffix=SUFFIX,
                                               dir=path.parent)
            except OSError as exc:
                raise error(f"{path}: cannot write to folder {path.parent} {fs_reason(exc)}") from None
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; outputs should look like any other file
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            raise error(f"{path}: write failed {fs_reason(exc)}") from None
        finally:  # any exception, Ctrl-C and SIGTERM included: the temp file goes, the target is untouched
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


_CLEANED: set[str] = set()


def _clean_once(folder: Path) -> None:
    """`clean_leftovers` the first time this process writes into `folder` (one listing, not one per file)."""
    key = os.path.realpath(folder)
    if key not in _CLEANED:
        _CLEANED.add(key)
        clean_leftovers(folder)


def write_bytes(path: Path, data: bytes, error: type[ZooError] = ZooError) -> None:
    """`atomic_write` of a bytes object."""
    atomic_write(path, lambda f: f.write(data), error)


@contextlib.contextmanager
def interrupt_on_term() -> Iterator[None]:
    """In the main thread, SIGTERM and SIGHUP raise `Terminated` (a KeyboardInterrupt) for the duration,
    where they would otherwise kill the process at once (a handler already installed is left alone)."""
    def raise_terminated(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    saved: dict[int, object] = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:  # a handler of the caller's (the trainer's) is kept
                saved[sig] = signal.signal(sig, raise_terminated)
    except ValueError:  # not the main thread: the caller's own handlers stay
        pass
    try:
        yield
    finally:
        for sig, old in saved.items():
            if old is not None:  # None: a handler not set from Python; leave it
                signal.signal(sig, old)  # type: ignore[arg-type]
