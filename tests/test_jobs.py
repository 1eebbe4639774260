"""`zoo upscale` over folders: naming, -r, globs, lists, bad files, never touching inputs, Ctrl-C and --resume."""
from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo_core.cli import main
from zoo_core import atomic
from zoo_core.infer import batch, imageio
from zoo_core.infer.jobs import collect, plan

RNG = np.random.default_rng(0)
TINY = ["-m", "example-tiny", "-q"]


def image(path: Path, size=(6, 4), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode).save(path)
    return path


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    image(src / "a.png")
    image(src / "b.jpg")
    image(src / "c.webp", mode="RGB")
    image(src / "sub" / "d.png")
    (src / "notes.txt").write_text("not an image, not an image suffix: skipped inside folders")
    (src / "empty.png").write_bytes(b"")
    (src / "fake.jpg").write_text("text with an image suffix")
    (src / "cut.png").write_bytes(image(tmp_path / "whole.png", (40, 40)).read_bytes()[:-100])
    return src


@pytest.mark.slow
def test_folder_one_bad_file_reported_others_done(folder, tmp_path, capsys):
    before = digest(folder)
    out = tmp_path / "out"
    assert main(["upscale", str(folder), "-o", str(out), *TINY]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]  # no .png.png, no sub/
    assert len([ln for ln in err if ln.startswith("zoo: error: ")]) == 3  # one line per bad file
    assert any("empty.png: empty file" in ln for ln in err) and any("fake.jpg: not an image" in ln for ln in err)
    assert any("cut.png: cannot decode image, it may be truncated" in ln for ln in err)
    assert err[-1] == "zoo: 3 of 6 file(s) failed (see above)."
    assert "Traceback" not in "".join(err)
    assert digest(folder) == before  # inputs byte-identical
    assert not list(out.glob(".*"))  # no temp files left
    with Image.open(out / "a.png") as im:
        assert im.size == (12, 8)


@pytest.mark.slow
def test_recursive_keeps_subfolders_and_skips_its_own_output(folder, tmp_path):
    out = folder / "up"  # output inside the input folder
    main(["upscale", str(folder), "-r", "-o", str(out), *TINY])
    assert (out / "sub" / "d.png").exists()
    main(["upscale", str(folder), "-r", "-o", str(out), "--resume", *TINY])
    assert not (out / "up").exists()  # outputs are never taken as inputs


@pytest.mark.slow
def test_globs_and_txt_lists(tmp_path):
    a, b = image(tmp_path / "x" / "a.png"), image(tmp_path / "x" / "b.png")
    image(tmp_path / "x" / "c.bmp")
    assert [i.src for i in collect([str(tmp_path / "x" / "*.png")])] == [a, b]
    lst = tmp_path / "x" / "list.txt"
    lst.write_text("# my picks\na.png\n\n" + str(b) + "\n")
    assert [i.src for i in collect([lst])] == [tmp_path / "x" / "a.png", b]
    assert main(["upscale", str(lst), "-o", str(tmp_path / "o"), *TINY]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.png", "b.png"]
    assert main(["upscale", str(tmp_path / "none*.png"), "-o", str(tmp_path / "o"), *TINY]) == 1


def test_names_formats_and_collisions(tmp_path):
    a_png, a_jpg = image(tmp_path / "a.png"), image(tmp_path / "a.jpg")
    jobs = plan(collect([a_png, a_jpg]), tmp_path / "o")
    assert [j.dst.name for j in jobs] == ["a.png", "a.jpg.png"]
    jobs = plan(collect([a_png]), tmp_path / "o", fmt="webp")
    assert jobs[0].dst.name == "a.webp" and jobs[0].fmt == "WEBP"
    assert plan(collect([a_png]), tmp_path / "single.jpg")[0].fmt == "JPEG"
    assert main(["upscale", str(a_jpg), "-o", str(tmp_path / "o"), "--format", "jpeg", "--quality", "80", *TINY]) == 0
    assert (tmp_path / "o" / "a.jpg").exists()


@pytest.mark.slow
def test_never_overwrites_inputs_and_existing_outputs(tmp_path, capsys):
    src = image(tmp_path / "a.png")
    before = src.read_bytes()
    assert main(["upscale", str(src), "-o", str(tmp_path), *TINY]) == 1
    assert "is an input file; zoo never overwrites inputs" in capsys.readouterr().err
    assert main(["upscale", str(src), "-o", str(tmp_path), "--overwrite", *TINY]) == 1
    assert src.read_bytes() == before
    out = tmp_path / "o"
    assert main(["upscale", str(src), "-o", str(out), *TINY]) == 0
    assert main(["upscale", str(src), "-o", str(out), *TINY]) == 1
    assert "already exists; pass --overwrite to replace it or --resume" in capsys.readouterr().err
    (out / "a.png").write_bytes(b"stale")
    assert main(["upscale", str(src), "-o", str(out), "--resume", *TINY]) == 0
    assert (out / "a.png").read_bytes() == b"stale"  # --resume skips what exists
    assert main(["upscale", str(src), "-o", str(out), "--overwrite", *TINY]) == 0
    assert (out / "a.png").read_bytes() != b"stale"


@pytest.mark.slow
def test_full_disk_on_one_file_others_continue(folder, tmp_path, monkeypatch, capsys):
    real = imageio.atomic_write

    def flaky(path, write):
        if Path(path).name == "b.png":
            def partial(f):
                f.write(b"half an image")
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(path, partial)
        return real(path, write)
    monkeypatch.setattr(imageio, "atomic_write", flaky)
    out = tmp_path / "out"
    for bad in ("empty.png", "fake.jpg", "cut.png"):
        (folder / bad).unlink()
    assert main(["upscale", str(folder), "-o", str(out), *TINY]) == 1
    assert "b.png: write failed (No space left on device). The disk is full." in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]  # no partial b.png, no temp file


@pytest.mark.slow
def test_unwritable_output_folder(folder, tmp_path, monkeypatch, capsys):
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)  # we run as root: simulate a read-only folder
    assert main(["upscale", str(folder / "a.png"), str(folder / "b.jpg"), "-o", str(tmp_path / "o"), *TINY]) == 1
    err = capsys.readouterr().err
    assert err.count("cannot write to folder") == 2 and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_mid_folder_then_resume(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in"
    for i in range(5):
        image(src / f"{i}.png")
    out = tmp_path / "out"
    real, seen = imageio.atomic_write, []

    def interrupted(path, write):
        seen.append(path)
        if len(seen) == 3:  # Ctrl-C while the third output is half written
            def partial(f):
                f.write(b"\x89PNG half")
                raise KeyboardInterrupt
            return real(path, partial)
        return real(path, write)
    monkeypatch.setattr(imageio, "atomic_write", interrupted)
    assert main(["upscale", str(src), "-o", str(out), *TINY]) == 130
    assert "Run the same command with --resume" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]  # complete or absent, no temp
    monkeypatch.setattr(imageio, "atomic_write", real)
    done = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["upscale", str(src), "-o", str(out), "--resume", *TINY]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{i}.png" for i in range(5)]
    assert all((out / n).read_bytes() == b for n, b in done.items())  # finished ones were skipped
    for p in out.iterdir():
        with Image.open(p) as im:
            im.load()


@pytest.mark.slow
def test_progress_counts_tiles(tmp_path):
    src = image(tmp_path / "a.png", (20, 20))
    ticks, totals = [], []
    from zoo_core.api import load
    from zoo_core.infer.jobs import Job

    up = load("example-tiny", tile_size=8)
    opts = batch.Options(scale=4, tta=True, tile=8)
    batch.process(Job(src, tmp_path / "o.png", "PNG", False), up, up, opts, on_total=totals.append,
                  on_tile=ticks.append)
    assert totals == [sum(ticks)] and totals[0] == (9 + 25) * 8  # 3×3 tiles then 5×5, TTA ×8


def test_no_inputs_and_bad_options(tmp_path, capsys):
    assert main(["upscale", str(tmp_path), "-o", str(tmp_path / "o")]) == 1
    assert "No input images found" in capsys.readouterr().err
    image(tmp_path / "a.png")
    assert main(["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "-m", "example-tiny",
                 "-s", "0.5"]) == 1
    assert "out of range" in capsys.readouterr().err
    assert main(["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "-m", "example-tiny",
                 "-n", "2"]) == 1
    assert "noise level 2" in capsys.readouterr().err


@pytest.mark.slow
def test_real_sigint_in_a_subprocess_leaves_complete_or_absent_outputs(tmp_path):
    """A real Ctrl-C (SIGINT) at a random moment of a real run; then --resume finishes the folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "in"
    for i in range(40):  # enough work that the signal lands mid-run, not after the last file
        image(src / f"{i:02d}.png", (64, 64))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "zoo", "upscale", str(src), "-o", str(out), "-m", "upconv7-scale2x", "-q",
           "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (out.exists() and any(out.glob("*.png"))):
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip(f"the run ended before it could be interrupted (rc {proc.returncode})")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0 and len(list(out.glob("*.png"))) == 40:
        pytest.skip("the run finished all 40 files before SIGINT arrived; nothing to resume")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    names = sorted(p.name for p in out.iterdir())
    assert all(n.endswith(".png") and not n.startswith(".") for n in names)  # no temp files
    assert 0 < len(names) < 40
    for p in out.iterdir():
        with Image.open(p) as im:
            im.load()  # each one complete
            assert im.size == (128, 128)
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("*.png"))) == 40


def test_progress_bars_only_on_a_terminal_and_not_with_quiet(monkeypatch):
    import io
    import sys

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    files, new_tile_bar = batch._bars(3, quiet=False)
    assert not files.disable and not new_tile_bar(5).disable
    files.close()
    assert "images" in sys.stderr.getvalue()
    assert batch._bars(3, quiet=True)[0].disable
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe or a file: no bar
    assert batch._bars(3, quiet=False)[0].disable
