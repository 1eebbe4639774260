"""Issue 25, the `zoo data` surface: never delete or overwrite what zoo did not make, one build per folder,
pictures and manifests that try to reach outside, and limits per input. Each case is one line, exit 1."""
from __future__ import annotations

import hashlib
import io
import json
import struct
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image

from deb_helpers import link, make_deb, tree
from test_data import SPEC, drawing
from zoo_core.cli import main
from zoo_core.data import BuildContext, DatasetSpec, Item, Source
from zoo_core.data.prepare import prepare
from zoo_core.errors import ConfigError

IMAGES = "usr/share/games/renpy/demo/game/images"


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The toy corpus registered and prepared in $ZOO_HOME/data/toy; its folder."""
    from zoo_core.registry import get_registry

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    get_registry().datasets.setdefault("toy", SPEC)
    folder, _, _ = prepare(SPEC, tmp_path / "home" / "data" / "toy")
    return folder


def one_line_error(capsys: pytest.CaptureFixture, *words: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def test_prepare_never_deletes_a_folder_zoo_did_not_make(toy: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    """Item 1: --dir ~/MyPictures with --force is refused and the pictures stay; zoo's own corpus is rebuilt."""
    mine = tmp_path / "MyPictures"
    mine.mkdir()
    (mine / "holiday.png").write_bytes(b"precious")
    assert main(["data", "prepare", "toy", "--dir", str(mine), "--force"]) == 1
    one_line_error(capsys, "never deletes", "new or empty folder")
    assert (mine / "holiday.png").read_bytes() == b"precious" and not (tmp_path / "MyPictures.partial").exists()
    (toy / "notes.txt").write_text("mine")  # a corpus folder someone added a file to is not zoo's alone any more
    assert main(["data", "prepare", "toy", "--force"]) == 1
    assert (toy / "notes.txt").exists()
    (toy / "notes.txt").unlink()
    assert main(["data", "prepare", "toy", "--force"]) == 0 and "prepared" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["data", "prepare", "toy", "--dir", str(empty)]) == 0
    assert json.loads((empty / "manifest.json").read_text())["name"] == "toy"


def test_dir_that_is_a_file_or_a_link_is_refused(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Item 12: --dir FILE left FILE.partial and a traceback."""
    target = tmp_path / "FILE"
    target.write_text("keep")
    assert main(["data", "prepare", "toy", "--dir", str(target)]) == 1
    one_line_error(capsys, "is a file")
    assert target.read_text() == "keep" and not (tmp_path / "FILE.partial").exists()
    (tmp_path / "ln").symlink_to(toy)
    assert main(["data", "prepare", "toy", "--dir", str(tmp_path / "ln"), "--force"]) == 1
    one_line_error(capsys, "symbolic link")
    (tmp_path / "stray.partial").mkdir()
    (tmp_path / "stray.partial" / "x.txt").write_text("not zoo's")
    assert main(["data", "prepare", "toy", "--dir", str(tmp_path / "stray")]) == 1
    one_line_error(capsys, "did not make it")
    assert (tmp_path / "stray.partial" / "x.txt").exists()


def _collide(ctx: BuildContext) -> list[Item]:
    src = Source(package="p", version="1", license="x")
    names = ["eileen a b", "eileen a_b", "Eileen_A_B", "plain"]
    return [Item(name=n, group=f"g{i}", source=src, file=f"f{i}", load=lambda i=i: drawing(40 + i)) for i, n in enumerate(names)]


def test_names_that_map_to_one_file_get_their_own_files(tmp_path: Path) -> None:
    """Item 4: 'eileen a b' and 'eileen a_b' (and a case variant) were one file with a wrong sha256."""
    folder, manifest, _ = prepare(DatasetSpec(name="c", description="", items=_collide, min_side=32), tmp_path / "c")
    files = [e["file"] for e in manifest["files"]]
    assert len(files) == 4 and len({f.casefold() for f in files}) == 4
    assert any(f.endswith("/plain.png") for f in files)  # a name that collides with nothing keeps its plain form
    for e in manifest["files"]:
        assert hashlib.sha256((folder / e["file"]).read_bytes()).hexdigest() == e["sha256"]


def test_two_prepares_into_one_folder_at_once(tmp_path: Path) -> None:
    """Item 12: the second build is refused while the first runs; the first completes untouched."""
    started, release = threading.Event(), threading.Event()

    def slow(ctx: BuildContext) -> list[Item]:
        src = Source(package="p", version="1", license="x")

        def load() -> Image.Image:
            started.set()
            release.wait(30)
            return drawing(1)

        return [Item(name="a", group="a", source=src, file="a", load=load)]

    spec = DatasetSpec(name="s", description="", items=slow, min_side=32)
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(prepare(spec, tmp_path / "s")))
    first.start()
    try:
        assert started.wait(30)
        with pytest.raises(ConfigError, match="Another 'zoo data prepare' is building"):
            prepare(spec, tmp_path / "s", force=True)
    finally:
        release.set()
        first.join(30)
    assert results and (tmp_path / "s" / "train" / "a.png").is_file() or (tmp_path / "s" / "val" / "a.png").is_file()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height (a few hundred bytes): what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.slow
def test_debian_art_bad_inputs_are_skipped_or_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    """Items 8, 11, 12: an image named ' .png', 20000² and 13000² PNG headers, a link out; no images folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.png").write_bytes(_png(drawing(9, (300, 300))))
    debs = tmp_path / "debs"
    make_deb(debs, "renpy-demo", tree({f"{IMAGES}/ .png": _png(drawing(5, (300, 200))),
                                       f"{IMAGES}/bg park.png": _png(drawing(1, (400, 300))),
                                       f"{IMAGES}/bomb.png": _png_header_only(20000, 20000),
                                       f"{IMAGES}/big.png": _png_header_only(13000, 13000)})
             + [link(f"{IMAGES}/lucy out.png", str(outside / "private.png"))])
    make_deb(debs, "openclipart-svg", tree({"usr/share/openclipart/svg/people/face.svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150"><circle cx="70" cy="70" r="50" '
        b'fill="#f80" stroke="#000" stroke-width="4"/><path d="M10 140 L190 10" stroke="#00f"/></svg>')}))
    monkeypatch.setenv("ZOO_DEBS", str(debs))
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    assert main(["data", "prepare", "--dir", str(tmp_path / "art")]) == 0
    out = capsys.readouterr().out
    m = json.loads((tmp_path / "art" / "manifest.json").read_text())
    names = sorted(Path(e["file"]).name for e in m["files"])
    assert names == ["clipart-people-face.png", "renpy-.png", "renpy-bg_park.png"], names
    assert m["skipped"] == {"over 40 million pixels": 2} and "2 over 40 million pixels" in out
    (debs / "renpy-demo_9.9-1_all.deb").unlink()
    make_deb(debs, "renpy-demo", tree({"usr/share/doc/renpy-demo/copyright": b"x"}), version="9.9-2")
    assert main(["data", "prepare", "--dir", str(tmp_path / "art2")]) == 1
    one_line_error(capsys, "has no folder", IMAGES)
    assert not (tmp_path / "art2").exists()


def _damage(toy: Path, manifest: object) -> None:
    (toy / "manifest.json").write_text(json.dumps(manifest))


def test_list_and_sheet_with_damaged_manifests(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Item 12: a manifest that is only {"complete": true}, or names ../ or absolute paths: no traceback, no read."""
    good = json.loads((toy / "manifest.json").read_text())
    secret = tmp_path / "secret.png"
    drawing(3).save(secret)
    sheet = tmp_path / "sheet.png"
    for bad in ({"complete": True},
                {**good, "files": [{**good["files"][0], "file": "train/../../../secret.png"}]},
                {**good, "files": [{**good["files"][0], "file": str(secret)}]}):
        _damage(toy, bad)
        assert main(["data", "list"]) == 0
        assert "damaged" in capsys.readouterr().out
        assert main(["data", "sheet", "toy", "-o", str(sheet)]) == 1
        one_line_error(capsys, "is damaged", "zoo data prepare toy --force")
        assert not sheet.exists()
    _damage(toy, good)
    first = next(e for e in good["files"] if e["split"] == "train")
    (toy / first["file"]).unlink()
    (toy / first["file"]).symlink_to(secret)  # a picture turned into a link out of the corpus
    assert main(["data", "sheet", "toy", "-o", str(sheet)]) == 1
    one_line_error(capsys, "links out of the corpus")


def test_sheet_output_rules_and_real_count(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Items 4 and 12: -o onto a corpus picture, a folder, a device; the caption says how many are on it."""
    manifest = json.loads((toy / "manifest.json").read_text())
    picture = toy / next(e["file"] for e in manifest["files"] if e["split"] == "train")
    before = picture.read_bytes()
    for target, words in ((picture, "inside the corpus"), (toy / "train" / "new.png", "inside the corpus"),
                          (tmp_path / "adir.png", "is a folder"), (Path("/dev/full"), "device")):
        if target.name == "adir.png":
            target.mkdir()
        assert main(["data", "sheet", "toy", "-o", str(target)]) == 1
        one_line_error(capsys, words)
    assert picture.read_bytes() == before and not (toy / "train" / "new.png").exists()
    assert main(["data", "sheet", "toy", "-o", str(tmp_path / "s.jpg"), "--count", "48"]) == 0
    shown = manifest["split"]["counts"]["train"]
    assert f": {shown} pictures of toy (train)" in capsys.readouterr().out and shown < 48
    assert Image.open(tmp_path / "s.jpg").size == (8 * 160, -(-shown // 8) * 160)


def test_a_damaged_corpus_is_rebuilt_by_the_fix_its_error_names(toy: Path, capsys: pytest.CaptureFixture) -> None:
    """The damaged-manifest line says 'zoo data prepare NAME --force': that command must then work."""
    _damage(toy, {"complete": True})
    assert main(["data", "sheet", "toy", "-o", str(toy.parent / "s.png")]) == 1
    assert "zoo data prepare toy --force" in one_line_error(capsys, "damaged")
    assert main(["data", "prepare", "toy", "--force"]) == 0
    assert main(["data", "sheet", "toy", "-o", str(toy.parent / "s.png")]) == 0
    _damage(toy, {"name": "another-corpus", "complete": True})  # zoo's layout, but another corpus: not deleted
    assert main(["data", "prepare", "toy", "--force"]) == 1
