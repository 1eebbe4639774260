"""Build .deb files in Python (ar + tar, as dpkg-deb lays them out), including hostile ones for the tests."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Iterable

Member = tuple[tarfile.TarInfo, bytes]


def file(name: str, data: bytes) -> Member:
    """A regular file member."""
    info = tarfile.TarInfo(f"./{name}")
    info.size, info.mode = len(data), 0o644
    return info, data


def folder(name: str) -> Member:
    """A folder member."""
    info = tarfile.TarInfo(f"./{name}")
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, b""


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Member:
    """A symbolic (or hard, or FIFO/device with `kind`) link member."""
    info = tarfile.TarInfo(f"./{name}")
    info.type, info.linkname, info.mode = kind, target, 0o777
    return info, b""


def tar_bytes(members: Iterable[Member], compression: str = "xz") -> bytes:
    """A (compressed) tar archive of the members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}" if compression else "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def ar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """An ar archive (the .deb container)."""
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode("ascii")
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def make_deb(folder: Path, package: str, members: Iterable[Member], version: str = "9.9-1",
             compression: str = "xz") -> Path:
    """Write PACKAGE_VERSION_all.deb into `folder` with the given data members."""
    control = (f"Package: {package}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\n"
               "Description: test\n").encode()
    suffix = f".{compression}" if compression else ""
    deb = ar_bytes([("debian-binary", b"2.0\n"), (f"control.tar{suffix}", tar_bytes([file("control", control)], compression)),
                    (f"data.tar{suffix}", tar_bytes(members, compression))])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{package}_{version.replace(':', '%3a')}_all.deb"
    path.write_bytes(deb)
    return path


def tree(files: dict[str, bytes]) -> list[Member]:
    """Members for a dict of path → bytes, folders included."""
    dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
    return [folder(d) for d in dirs] + [file(p, data) for p, data in files.items()]
