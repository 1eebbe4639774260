"""Issue 25 item 2: commands that write renamed a temp file over X whatever X was (as root, `-o /dev/null` replaced
the device node with a regular file). zoo now replaces only regular files, or writes new names: a device, a pipe,
a socket, a folder, or a link to one of them is refused in one line, and left as it was."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from zoo_core import atomic
from zoo_core.cli import main
from zoo_core.errors import ZooError

TINY = "example-tiny"
BACKENDS = [None, "torch"]  # the default path (ncnn on CPU) first, then the reference


def specials(folder: Path) -> dict[str, tuple[Path, str]]:
    """A FIFO, a /dev/null clone (as root), a link to the FIFO: name -> (path, the words the error says)."""
    folder.mkdir(exist_ok=True)
    found = {}
    os.mkfifo(folder / "pipe.png")
    found["pipe"] = (folder / "pipe.png", "is a named pipe")
    os.symlink(folder / "pipe.png", folder / "link.png")
    found["link"] = (folder / "link.png", "is a symbolic link to a named pipe")
    try:
        os.mknod(folder / "null.png", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
        found["device"] = (folder / "null.png", "is a device")
    except PermissionError:
        print("not root: the device-node case is left out (mknod needs CAP_MKNOD)")
    return found


def kinds(paths) -> list[int]:
    return [os.lstat(p).st_mode for p in paths]


def one_error(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    return next(ln for ln in err.splitlines() if ln.startswith("zoo: error: "))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_upscale_overwrite_never_replaces_a_pipe_or_a_device(backend, tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.new("RGB", (6, 4), (10, 20, 30)).save(src)
    targets = specials(tmp_path / "out")
    before = kinds(p for p, _ in targets.values())
    more = ["--backend", backend] if backend else []
    for path, words in targets.values():
        err = one_error(["upscale", str(src), "-o", str(path), "--overwrite", "-m", TINY, "-q", *more], capsys)
        assert f"{path}: {words}; zoo writes only regular files" in err, err
    assert kinds(p for p, _ in targets.values()) == before
    assert not list((tmp_path / "out").glob(".*.part"))
    ok = tmp_path / "out" / "ok.png"  # a regular file is still replaced with --overwrite
    ok.write_bytes(b"old")
    assert main(["upscale", str(src), "-o", str(ok), "--overwrite", "-m", TINY, "-q", *more]) == 0
    with Image.open(ok) as im:
        assert im.size == (12, 8)


@pytest.mark.slow
def test_eval_grid_and_convert_refuse_a_pipe_a_device_and_a_folder(tmp_path, capsys):
    hr = tmp_path / "hr"
    hr.mkdir()
    Image.new("RGB", (24, 24), (200, 100, 50)).save(hr / "a.png")
    targets = specials(tmp_path / "out")
    before = kinds(p for p, _ in targets.values())
    for path, words in targets.values():
        err = one_error(["eval", TINY, str(hr), "--grid", str(path)], capsys)
        assert f"{path}: {words}; zoo writes only regular files" in err, err
    assert kinds(p for p, _ in targets.values()) == before
    folder = tmp_path / "w.safetensors"
    folder.mkdir()
    for path, words in [*targets.values(), (folder, "is a folder")]:
        with pytest.raises(ZooError, match=f"{words}; zoo writes only regular files"):
            atomic.write_bytes(path, b"converted weights")  # the writer under convert, push, fetch, train exports
    assert kinds(p for p, _ in targets.values()) == before and folder.is_dir()


@pytest.mark.slow
def test_convert_refuses_a_device_as_output(tmp_path, capsys):
    from test_convert import package_paths

    param, binf = package_paths("upconv7-scale2x")
    targets = specials(tmp_path / "out")
    for path, words in targets.values():
        err = one_error(["convert", "--arch", "upconv7", "--format", "ncnn", str(param), str(binf), "-o", str(path)],
                        capsys)
        assert f"{path}: {words}; zoo writes only regular files" in err, err
        assert not stat.S_ISREG(os.stat(path).st_mode)
