"""`zoo data`'s sources with no system tools: .deb files unpacked in Python (safe members only) and SVGs
rendered by the pinned resvg in a worker with time limits (issues 24 and 25: items 8 and 11)."""
from __future__ import annotations

import io
import os
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deb_helpers import ar_bytes, file, folder, link, make_deb, tar_bytes, tree
from zoo_core.data import debian
from zoo_core.data.debian import DataSourceError, unpack
from zoo_core.data.svg import RESVG_PY, Renderer, SvgError, neutralise, render_svg, renderer_problem

REPO = Path(__file__).resolve().parents[1]
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150"><rect width="200" height="150" fill="#fff"/>'
       b'<circle cx="70" cy="70" r="50" fill="#f80" stroke="#000" stroke-width="4"/></svg>')


def _png(color: str = "red", size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("compression", ["xz", "gz", "bz2", ""])
def test_unpacks_each_debian_compression_without_dpkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      compression: str) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no dpkg-deb, no apt-get: the .deb is local
    make_deb(tmp_path / "debs", "pkg", tree({"usr/share/a/x.txt": b"hello", "usr/share/a/b/y.bin": b"\0" * 999}),
             version="1:2.0-3", compression=compression)
    monkeypatch.setenv("ZOO_DEBS", str(tmp_path / "debs"))
    got = unpack("pkg", tmp_path / "cache")
    assert got.version == "1:2.0-3" and got.root.name == "pkg_1%3a2.0-3"
    assert (got.root / "usr/share/a/x.txt").read_bytes() == b"hello"
    assert (got.root / "usr/share/a/b/y.bin").stat().st_size == 999


def test_zstd_packages_need_zstandard_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zstd = pytest.importorskip("zstandard", reason="zstandard (the test extra) is needed to write a zstd .deb")
    data = zstd.ZstdCompressor().compress(tar_bytes(tree({"usr/x.txt": b"zst"}), compression=""))
    control = zstd.ZstdCompressor().compress(tar_bytes([file("control", b"Package: z\nVersion: 1.0\n")], ""))
    (tmp_path / "debs").mkdir()
    (tmp_path / "debs" / "z_1.0_all.deb").write_bytes(
        ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.zst", control), ("data.tar.zst", data)]))
    monkeypatch.setenv("ZOO_DEBS", str(tmp_path / "debs"))
    assert (unpack("z", tmp_path / "cache").root / "usr/x.txt").read_bytes() == b"zst"
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as where it is not installed
    with pytest.raises(DataSourceError, match="pip install zstandard"):
        unpack("z", tmp_path / "cache2")


def test_links_out_devices_and_fifos_are_never_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 8: a symlinked images folder or image that points out of the package, a FIFO, a device, '..'."""
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_png())
    os.mkfifo(outside / "pipe.png")
    members = tree({"usr/share/in/ok.png": _png("blue")}) + [
        link("usr/share/in/abs.png", str(outside / "secret.png")),
        link("usr/share/in/rel.png", "../../../../../../../../../../" + str(outside / "secret.png")),
        link("usr/share/in/fifo.png", str(outside / "pipe.png")),
        link("usr/share/in/inner.png", "ok.png"),  # inside the package: kept, as Debian's own links are
        link("usr/share/in/hard.png", str(outside / "secret.png"), tarfile.LNKTYPE),
        link("usr/share/in/made-fifo", "", tarfile.FIFOTYPE), link("usr/share/in/dev", "", tarfile.CHRTYPE),
        link("usr/share/out", str(outside)), file("../escape.txt", b"x"), file("/abs.txt", b"x")]
    make_deb(tmp_path / "debs", "evil", members)
    monkeypatch.setenv("ZOO_DEBS", str(tmp_path / "debs"))
    root = unpack("evil", tmp_path / "cache").root
    made = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    assert made == [".complete-py1", "abs.txt", "usr", "usr/share", "usr/share/in", "usr/share/in/inner.png",
                    "usr/share/in/ok.png"]  # '/abs.txt' lands inside the root, as the 'data' filter does
    assert not (tmp_path / "cache" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()
    assert (root / "usr/share/in/inner.png").read_bytes() == _png("blue")
    assert debian.inside(root, root / "usr/share/in/inner.png")


def test_damaged_or_huge_packages_are_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    debs = tmp_path / "debs"
    deb = make_deb(debs, "p", tree({"usr/a.txt": b"a" * 5000}))
    monkeypatch.setenv("ZOO_DEBS", str(debs))
    monkeypatch.setattr(debian, "MAX_UNPACKED", 4000)
    with pytest.raises(DataSourceError, match="GB unpacked"):
        unpack("p", tmp_path / "c1")
    deb.write_bytes(b"!<arch>\n" + b"garbage" * 20)
    with pytest.raises(DataSourceError, match="not a readable Debian package.*Delete it"):
        unpack("p", tmp_path / "c2")
    deb.write_bytes(ar_bytes([("debian-binary", b"2.0\n"), ("data.tar.xz", tar_bytes(tree({"a": b"a"})))]))
    with pytest.raises(DataSourceError, match="no control.tar"):
        unpack("p", tmp_path / "c3")


def test_svg_renderer_is_pinned_and_names_the_corpus_version() -> None:
    """The corpus's pixels come from the pinned resvg-py: the pin, the installed one and the version agree."""
    from zoo_core.data.builtin import DEBIAN_ART

    pin = re.search(r'"resvg-py==([^"]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert pin == RESVG_PY and renderer_problem() is None
    assert RESVG_PY in DEBIAN_ART.version


def test_svg_never_reads_outside_files(tmp_path: Path) -> None:
    """An <image> naming a local file (absolute or beside the SVG) renders blank; markup entities are refused."""
    red = tmp_path / "red.png"
    red.write_bytes(_png("red", (100, 100)))
    for href in (str(red), "red.png", f"file://{red}"):
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" '
               f'height="100"><image xlink:href="{href}" width="100" height="100"/>'
               f'<rect width="10" height="10" fill="#00f"/></svg>').encode()
        assert b"red" not in neutralise(svg)
        px = np.asarray(render_svg(svg, 100))
        assert px[50, 50, 3] == 0 and px[5, 5, 2] == 255, href  # no picture; the drawing itself is there
    inline = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><image href="data:image/png;base64,AAAA"/></svg>'
    assert neutralise(inline) == inline
    for hidden in (b'<image title=">" href="/x/s.png"/>', b'<image href="/x/a.png" xlink:href="/x/b.png"/>',
                   b'<image href="data:image/svg+xml;base64,AAAA"/>', b"<svg:feImage\nxlink:href = 'file:///x'/>"):
        assert re.findall(rb"href\s*=\s*(['\"])(.*?)\1", neutralise(hidden)) in ([(b'"', b"")] * 1, [(b'"', b"")] * 2,
                                                                                [(b"'", b"")]), hidden
    with pytest.raises(SvgError, match="entities"):
        neutralise(b'<!DOCTYPE svg [<!ENTITY e "<image href=\'/etc/x\'/>">]><svg>&e;</svg>')
    with pytest.raises(SvgError, match="entities"):
        neutralise(b'<!DOCTYPE svg [<!ENTITY e SYSTEM "file:///etc/passwd">]><svg>&e;</svg>')


SLOW_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><filter id="f">'
            b'<feTurbulence baseFrequency="0.9" numOctaves="30"/><feGaussianBlur stdDeviation="40"/></filter>'
            + b"".join(b'<rect width="100" height="100" filter="url(#f)" opacity="0.5"/>' for _ in range(20))
            + b"</svg>")  # over 5 s at 4096 px on the 2-core box


@pytest.mark.slow
def test_renderer_worker_times_out_restarts_and_keeps_a_budget() -> None:
    """Item 11: one slow SVG is killed at its limit, the next file still renders; a spent budget stops the rest."""
    with Renderer(timeout=0.5) as r:
        first = r.render(SVG, 300)
        assert first.size == (300, 225) and first.tobytes() == render_svg(SVG, 300).tobytes()
        with pytest.raises(SvgError, match="took over"):
            r.render(SLOW_SVG, 4096)
        assert r.render(SVG, 200).size == (200, 150)
        with pytest.raises(SvgError, match="does not render"):
            r.render(b"<svg", 100)
        with pytest.raises(SvgError, match="MB"):
            r.render(b" " * (9 << 20), 100)
    with Renderer(timeout=5, budget=0.3) as r:
        with pytest.raises(SvgError, match="budget"):  # cut at what is left of the budget, not at the file's 5 s
            r.render(SLOW_SVG, 4096)
        assert r.spent > 0  # CPU seconds (wall seconds where /proc cannot tell): a loaded machine does not spend it
        r.spent = r.budget  # as after a build's worth of files
        with pytest.raises(SvgError, match="budget"):
            r.render(SVG, 100)
