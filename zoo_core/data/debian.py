"""Debian packages as corpus sources: `apt-get download` (no install, no root needed) and `dpkg-deb -x`."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import ZooError


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
        raise DataSourceError(f"'{tool}' is not installed; zoo data needs Debian's package tools "
                              "(apt-get, dpkg-deb). On Debian/Ubuntu they are there by default; elsewhere pass "
                              "--debs DIR with the .deb files downloaded by hand.")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)


def _local_deb(package: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        found = sorted(folder.glob(f"{package}_*.deb"))
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


def unpack(package: str, cache: Path) -> Unpacked:
    """Fetch and extract a package once; later calls reuse the extracted tree."""
    deb = fetch_deb(package, cache)
    info = _run(["dpkg-deb", "-f", str(deb), "Version"])
    version = info.stdout.strip()
    if info.returncode != 0 or not version:
        raise DataSourceError(f"'{deb}' is not a readable Debian package ({info.stderr.strip()[:200]}). "
                              "Delete it and run the command again.")
    root = cache / f"{package}_{version.replace(':', '%3a')}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        done = _run(["dpkg-deb", "-x", str(deb), str(root)])
        if done.returncode != 0:
            raise DataSourceError(f"Could not unpack '{deb}' ({done.stderr.strip()[:200]}). "
                                  "Delete it and run the command again.")
        (root / ".complete").touch()
    return Unpacked(package, version, root)
