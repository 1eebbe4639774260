"""Issue 15, `zoo upscale`: damaged files fail alone, links, lists, names, signals and leftovers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo_core.cli import main
from zoo_core.infer import imageio
from zoo_core.infer.jobs import collect, plan

TINY = ["-m", "example-tiny", "-q"]
RNG = np.random.default_rng(15)


def image(path: Path, size=(6, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def gif_bytes(tmp_path: Path) -> bytes:
    frames = [Image.fromarray(RNG.integers(0, 256, (24, 24, 3), dtype=np.uint8)) for _ in range(4)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return (tmp_path / "anim.gif").read_bytes()


def run(args: list[str], capsys) -> tuple[int, list[str]]:
    code = main(["upscale", *args, *TINY])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip().splitlines()


@pytest.mark.slow
def test_truncated_animated_gif_fails_alone_at_every_cut(tmp_path, capsys):
    """Item 1: a cut GIF raised IndexError in plan(); now each cut is one line and the good file is done."""
    data = gif_bytes(tmp_path)
    src = tmp_path / "in"
    image(src / "good.png")
    for n in range(len(data) // 2, len(data), 7):  # a spread of cut points through the frames
        (src / "cut.gif").write_bytes(data[:n])
        jobs = plan(collect([src]), tmp_path / "plan")  # never raises
        assert [j.src.name for j in jobs] == ["cut.gif", "good.png"]
    (src / "cut.gif").write_bytes(data[:len(data) * 2 // 3])
    code, err = run([str(src), "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and (tmp_path / "out" / "good.png").is_file()
    assert any("cut.gif: cannot decode image" in ln for ln in err)


@pytest.mark.slow
def test_damaged_tiff_fails_alone(tmp_path, capsys):
    """Item 2: a TIFF with one damaged byte raised TypeError: Missing dimensions in plan()."""
    src = tmp_path / "in"
    image(src / "good.png")
    Image.new("RGB", (32, 24), (255, 0, 0)).save(src / "red.tif")
    data = bytearray((src / "red.tif").read_bytes())
    data[131] = 197
    (src / "red.tif").write_bytes(bytes(data))
    code, err = run([str(src), "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and (tmp_path / "out" / "good.png").is_file()
    assert any("red.tif: cannot decode image" in ln for ln in err), err


@pytest.mark.slow
def test_symlink_loop_in_folder_and_as_output(tmp_path, capsys):
    """Items 3 and 17: a link loop raised RuntimeError in collect() and was called a zoo bug."""
    src = tmp_path / "in"
    image(src / "good.png")
    os.symlink("b.png", src / "a.png")
    os.symlink("a.png", src / "b.png")
    code, err = run([str(src), "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and (tmp_path / "out" / "good.png").is_file()
    loops = [ln for ln in err if "symbolic link that loops" in ln]
    assert len(loops) == 2 and not any("please report" in ln for ln in err)
    out = tmp_path / "o2"
    out.mkdir()
    os.symlink("good.png", out / "good.png")  # a dangling link where the output goes
    code, err = run([str(src / "good.png"), "-o", str(out)], capsys)
    assert code == 1 and "already exists" in err[0] and os.path.islink(out / "good.png")


@pytest.mark.slow
def test_lists_that_include_each_other(tmp_path, capsys):
    """Item 12: a.txt lists b.txt which lists a.txt: RecursionError before."""
    image(tmp_path / "x.png")
    (tmp_path / "a.txt").write_text("b.txt\nx.png\n")
    (tmp_path / "b.txt").write_text("a.txt\n")
    assert [it.src.name for it in collect([tmp_path / "a.txt"])] == ["x.png"]
    code, _ = run([str(tmp_path / "a.txt"), "-o", str(tmp_path / "out")], capsys)
    assert code == 0 and (tmp_path / "out" / "x.png").is_file()


@pytest.mark.slow
def test_same_name_from_two_folders_is_refused_not_replaced(tmp_path, capsys):
    """Item 8: one/a.png and two/a.png into one -o: the second replaced the first with --overwrite."""
    a1, a2 = image(tmp_path / "one" / "a.png", (6, 4)), image(tmp_path / "two" / "a.png", (8, 4))
    out = tmp_path / "out"
    code, err = run([str(a1), str(a2), "-o", str(out), "--overwrite"], capsys)
    assert code == 1
    with Image.open(out / "a.png") as im:
        assert im.size == (12, 8)  # the first input's result, not replaced by the second
    assert any(f"{a2}: would be written to {out / 'a.png'}, as {a1} is" in ln for ln in err)
    (tmp_path / "one" / "a.png").write_bytes(b"")  # a first input that fails claims no output
    code, err = run([str(a1), str(a2), "-o", str(tmp_path / "out2")], capsys)
    assert code == 1 and "empty file" in err[0] and (tmp_path / "out2" / "a.png").is_file()


@pytest.mark.slow
def test_unreadable_folders_are_reported(tmp_path, monkeypatch, capsys):
    """Item 16: an unreadable sub-folder was skipped silently (exit 0); a top one said 'No input images'."""
    src = tmp_path / "in"
    image(src / "good.png")
    image(src / "locked" / "x.png")
    real = os.scandir

    def scandir(path="."):  # tests run as root: simulate folders without read permission
        if isinstance(path, (str, Path)) and Path(path).name in ("locked", "in2"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    code, err = run([str(src), "-r", "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and (tmp_path / "out" / "good.png").is_file()
    assert any("locked: cannot read this folder (Permission denied)" in ln for ln in err)
    (tmp_path / "in2").mkdir()
    code, err = run([str(tmp_path / "in2"), "-o", str(tmp_path / "out2")], capsys)
    assert code == 1 and "in2: cannot read this folder" in err[0]


def test_output_too_large_for_jpeg_is_refused_before_computing(tmp_path, monkeypatch, capsys):
    """Item 18: 33000×2 to a JPEG failed only after the whole upscale, with a stray libjpeg line."""
    src = image(tmp_path / "wide.png", (33000, 2))
    from zoo_core.infer import batch

    ran = []
    monkeypatch.setattr(batch, "upscale_one", lambda *a, **k: ran.append(1))
    code, err = run([str(src), "-o", str(tmp_path / "y.jpg")], capsys)
    assert code == 1 and not ran and not (tmp_path / "y.jpg").exists()
    assert "would be 66000×4, but JPEG stores at most 65500 pixels a side" in err[0]


def test_newline_in_a_file_name_cannot_forge_a_line(tmp_path, capsys):
    """Item 19: a name with a newline printed a second, forged line."""
    bad = tmp_path / "x\nzoo: 0 of 9 file(s) failed.png"
    bad.write_bytes(b"")
    code, err = run([str(bad), "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and len(err) == 2 and "x\\nzoo: 0 of 9" in err[0]
    code, err = run([str(tmp_path / "x\nnone*.png"), "-o", str(tmp_path / "out")], capsys)  # main()'s line
    assert code == 1 and len(err) == 1 and "x\\nnone*.png' matches no file" in err[0]


def test_demo_never_replaces_an_existing_file(tmp_path, capsys):
    """Item 20: --demo -o demo/holiday.png replaced demo/holiday-input.png."""
    keep = tmp_path / "holiday-input.png"
    keep.write_bytes(b"my holiday photo")
    code, err = run(["--demo", "-o", str(tmp_path / "holiday.png")], capsys)
    assert code == 1 and keep.read_bytes() == b"my holiday photo" and "already exists" in err[0]


@pytest.mark.slow
def test_max_pixels_environment_is_range_checked(tmp_path, monkeypatch, capsys):
    """Item 13: ZOO_MAX_PIXELS=inf / 1e400 raised OverflowError; 0 and -5 were accepted."""
    image(tmp_path / "a.png")
    for value in ("inf", "1e400", "0", "-5", "nan", "9" * 5000):
        monkeypatch.setenv("ZOO_MAX_PIXELS", value)
        code, err = run([str(tmp_path / "a.png"), "-o", str(tmp_path / "o")], capsys)
        assert code == 1 and "ZOO_MAX_PIXELS must be an integer from 1 to 1e+12" in err[0], (value, err)


@pytest.mark.slow
def test_sigterm_mid_write_leaves_no_part_file(tmp_path, monkeypatch, capsys):
    """Item 4: SIGTERM during a write left .NAME.XXXX.part; now it is cleaned like Ctrl-C, exit 143."""
    for i in range(3):
        image(tmp_path / "in" / f"{i}.png")
    real, seen = imageio.atomic_write, []

    def terminated(path, write):
        seen.append(path)

        def half(f):
            f.write(b"\x89PNG half")
            if len(seen) == 2:
                os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at the next line of Python
            write(f)
        return real(path, half)
    monkeypatch.setattr(imageio, "atomic_write", terminated)
    out = tmp_path / "out"
    code, err = run([str(tmp_path / "in"), "-o", str(out)], capsys)
    assert code == 143 and "--resume" in err[-1]
    assert sorted(p.name for p in out.iterdir()) == ["0.png"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is restored afterwards


def test_signal_right_after_the_temp_file_is_made(tmp_path, monkeypatch):
    """Item 4: SIGINT between mkstemp and the try left a 0-byte .part; signals are held over that window."""
    from zoo_core import atomic

    real = atomic.tempfile.mkstemp

    def mkstemp_then_ctrl_c(*a, **k):
        made = real(*a, **k)
        os.kill(os.getpid(), signal.SIGINT)
        return made
    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp_then_ctrl_c)
    # Python's own Ctrl-C handler, even when the suite was started in the background (SIGINT then inherited ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic.write_bytes(tmp_path / "x.bin", b"data")  # the writer every command uses
    finally:
        signal.signal(signal.SIGINT, previous)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_leftover_part_files_of_dead_runs_are_removed(tmp_path, capsys):
    """Item 4: --resume ignored a killed run's .part files; the next run into the folder removes them."""
    image(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (out / f".a.png.zoo{dead}-k3j2.part").write_bytes(b"x" * 100)
    (out / f".b.png.zoo{os.getppid()}-live.part").write_bytes(b"a live writer's file")  # pid alive: kept
    (out / "notes.part").write_bytes(b"not ours")
    code, _ = run([str(tmp_path / "in"), "-o", str(out), "--resume"], capsys)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [f".b.png.zoo{os.getppid()}-live.part", "a.png", "notes.part"]


def test_a_named_pipe_among_the_inputs_fails_alone(tmp_path, capsys):
    """New case: a FIFO named x.png blocked the pre-scan forever; now it is refused without reading."""
    src = tmp_path / "in"
    image(src / "good.png")
    os.mkfifo(src / "pipe.png")
    code, err = run([str(src), "-o", str(tmp_path / "out")], capsys)
    assert code == 1 and (tmp_path / "out" / "good.png").is_file()
    assert any("pipe.png: not a regular file" in ln for ln in err)


@pytest.mark.slow
def test_file_names_too_long_are_one_line_and_long_names_still_work(tmp_path, capsys):
    """New case: a 300-character name raised OSError (File name too long) from Path.is_dir in collect()."""
    image(tmp_path / "in" / ("a" * 240 + ".png"))  # near the limit: the temp name must still fit
    code, _ = run([str(tmp_path / "in"), "-o", str(tmp_path / "out")], capsys)
    assert code == 0 and (tmp_path / "out" / ("a" * 240 + ".png")).is_file()
    code, err = run([str(tmp_path / ("b" * 300 + ".png")), "-o", str(tmp_path / "o2")], capsys)
    assert code == 1 and "cannot read it (File name too long)" in err[0]
    for cmd in (["convert", "--arch", "upconv7", "--format", "ncnn", str(tmp_path / ("c" * 300)), "-o", "x.st"],
                ["eval", "example-tiny", str(tmp_path / ("d" * 300))]):
        assert main(cmd) == 1
        assert "Traceback" not in capsys.readouterr().err


def test_pillow_log_records_do_not_add_stray_lines(tmp_path):
    """New case: a TIFF claiming 65 samples per pixel printed Pillow's log line before zoo's own."""
    import io

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "TIFF")
    data = bytearray(buf.getvalue())
    at = data.find(b"\x15\x01\x03\x00\x01\x00\x00\x00")  # the SamplesPerPixel entry (tag 277, SHORT)
    data[at + 8] = 65
    (tmp_path / "spp.tif").write_bytes(bytes(data))
    # a real process: pytest's own log capture would hide what Python prints to a user's terminal
    r = subprocess.run([sys.executable, "-m", "zoo", "upscale", str(tmp_path / "spp.tif"), "-o", str(tmp_path / "o"),
                        *TINY], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and all(ln.startswith("zoo: ") for ln in r.stderr.splitlines()), r.stderr
