"""Issue 15: commands that write never replace an input; weights, cards and numbers give one line."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo_core.cards import load_card_file, parse_card
from zoo_core.cli import main
from zoo_core.errors import WeightsError, ZooError
from zoo_core.weights.safetensors_io import load_safetensors, save_safetensors

TINY = "example-tiny"


def one_error(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("zoo: error: ")]
    assert lines, err
    return lines[0]


def tiny_weights(tmp_path: Path, value: float | None = None) -> Path:
    tensors, meta = load_safetensors(zoo.fetch(TINY))
    if value is not None:
        tensors = {k: torch.full_like(v, value) for k, v in tensors.items()}
    out = tmp_path / f"w{value}.safetensors"
    save_safetensors(out, tensors, meta)
    return out


def test_convert_never_writes_over_its_input(tmp_path, capsys):
    """Item 5: -o W.bin replaced the original .bin with safetensors, exit 0."""
    param, binf = tmp_path / "W.param", tmp_path / "W.bin"
    param.write_text("7767517\n")
    binf.write_bytes(b"original weights")
    err = one_error(["convert", "--arch", "upconv7", "--format", "ncnn", str(param), str(binf), "-o", str(binf)],
                    capsys)
    assert "is an input of this command; zoo never overwrites inputs" in err
    assert binf.read_bytes() == b"original weights"


def test_convert_of_a_json_nested_too_deep(tmp_path, capsys):
    """Item 15: a JSON nested 100,000 deep raised RecursionError."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    err = one_error(["convert", "--arch", "upconv7", "--format", "json", str(deep), "-o", str(tmp_path / "o.st")],
                    capsys)
    assert "nested too deeply" in err and not (tmp_path / "o.st").exists()


def hr_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "hr"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / name)
    return folder


def test_eval_grid_never_replaces_an_hr_image(tmp_path, capsys):
    """Item 6: --grid DIR/a.png replaced an HR input with the grid, exit 0."""
    folder = hr_folder(tmp_path)
    before = (folder / "a.png").read_bytes()
    err = one_error(["eval", TINY, str(folder), "--grid", str(folder / "a.png")], capsys)
    assert "never overwrites inputs. Choose another --grid" in err
    assert (folder / "a.png").read_bytes() == before


@pytest.mark.slow
def test_eval_with_an_empty_png_scores_the_others(tmp_path, capsys):
    """Item 23: one empty PNG said 'Cannot read training image' and stopped the whole eval."""
    folder = hr_folder(tmp_path)
    (folder / "empty.png").write_bytes(b"")
    assert main(["eval", TINY, str(folder), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert [r["image"] for r in report["images"]] == ["a.png", "b.png"]
    assert "empty.png: empty file (0 bytes). (left out of the scores)" in captured.err
    assert "training" not in captured.err


def test_push_dry_run_never_replaces_a_readme(tmp_path, capsys):
    """Item 21: --dry-run DIR overwrote DIR/README.md (mode 0600 afterwards)."""
    (tmp_path / "README.md").write_text("my own notes")
    card = "upconv7-scale2x"
    err = one_error(["push", card, "--repo-id", "me/x", "--dry-run", str(tmp_path)], capsys)
    assert "README.md already exists" in err and (tmp_path / "README.md").read_text() == "my own notes"
    assert main(["push", card, "--repo-id", "me/x", "--dry-run", str(tmp_path / "new")]) == 0
    umask = os.umask(0)
    os.umask(umask)
    for written in (tmp_path / "new").iterdir():  # written like any other file, not mkstemp's 0600
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask, written


@pytest.mark.slow
def test_nan_and_inf_weights_are_an_error_not_an_image(tmp_path, capsys):
    """Item 10: NaN weights gave an all-black image with exit 0 (Inf or 1e30: all white). Since issue 25 such
    weights are refused at load (tests/test_r3_weights.py); weights of 1e5 still reach the output check."""

    src = tmp_path / "a.png"
    Image.new("RGB", (6, 4), (10, 20, 30)).save(src)
    for value in (float("nan"), float("inf"), 1e30):
        w = tiny_weights(tmp_path, value)
        out = tmp_path / f"out{value}.png"
        err = one_error(["upscale", str(src), "-o", str(out), "-m", TINY, "-q", "--weights", str(w)], capsys)
        assert f"'{w}': tensor 'conv.bias' holds NaN, infinite or absurd values" in err and not out.exists()
    from zoo_core.infer.upscaler import NonFiniteOutput

    up = zoo.load(TINY, weights=tiny_weights(tmp_path, 1e5))


    with pytest.raises(NonFiniteOutput, match="example-tiny-nearest"):
        up.upscale(Image.new("RGB", (4, 4)))


def test_load_checks_its_numbers():
    """Item 24: tile_size=-1, "64" or True and batch_size 0 or -3 were accepted; threads=-1 a RuntimeError."""
    for kw, words in ((dict(tile_size=-1), "tile_size must be an integer from 8"),
                      (dict(tile_size="64"), "tile_size must be an integer"),
                      (dict(tile_size=True), "tile_size must be an integer"),
                      (dict(batch_size=0), "batch_size must be an integer from 1"),
                      (dict(batch_size=-3), "batch_size must be an integer from 1"),
                      (dict(threads=-1), "threads must be an integer from 1")):
        with pytest.raises(ZooError, match=words):
            zoo.load(TINY, **kw)


def test_zoo_home_unwritable_or_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    """Item 9: ZOO_HOME a file (or unwritable, or a full disk) gave NotADirectoryError etc. tracebacks."""
    from zoo_core.api import is_available_offline

    if "upconv7-noise1" not in zoo.get_registry().cards or not is_available_offline(zoo.get_card("upconv7-noise1")):
        pytest.skip("upconv7 cards or their upstream package are not installed")
    home = tmp_path / "home"
    home.write_text("a file, not a folder")
    monkeypatch.setenv("ZOO_HOME", str(home))
    err = one_error(["fetch", "upconv7-noise1", "-q"], capsys)
    assert f"set ZOO_HOME to a folder you can write to" in err and "Not a directory" in err


def test_web_page_does_not_show_server_paths(monkeypatch):
    """Item 9: a weights problem on the server showed the server's path on the web page."""
    from zoo_core.serve.jobs import JobQueue, Limits, WebJob
    from zoo_core.serve.engine import JobSpec, ModelCache

    def broken(_name: str):
        raise WeightsError("/srv/secret/zoo_home/weights: cannot write (Permission denied).")
    queue = JobQueue(Limits(jobs=1), ModelCache(loader=broken))
    job = WebJob(spec=JobSpec(model=TINY, noise=-1, scale=2, tta=False), image=Image.new("RGB", (4, 4)), filename="x")
    queue._run(job)
    queue.stop()
    assert job.state == "error" and "/srv/secret" not in job.error and "zoo fetch" in job.error


def card(**weights: str) -> dict:
    return {"name": "bad", "architecture": TINY, "task": {"scale": 2, "noise_level": -1, "style": "art"},
            "weights": weights, "license": "MIT", "description": "d"}


def test_card_values_are_one_line(tmp_path):
    """Item 11: non-UTF-8 card, channels abc / -5, a Hub filename ../../x."""
    p = tmp_path / "c.yaml"
    p.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ZooError, match="not UTF-8 text"):
        load_card_file(p)
    arch = zoo.get_registry().architecture("drrn-lite")
    for value in ("abc", -5, 1.5, True, float("nan")):
        with pytest.raises(ZooError, match=r"hyperparameters.channels must be an integer from 1 to 256"):
            arch.create({"channels": value})
    with pytest.raises(ZooError, match=r"selection_unit must be true or false"):
        zoo.get_registry().architecture("espcn7").create({"selection_unit": "yes"})
    with pytest.raises(ZooError, match=r"weights.filename' '../../x' leads outside its package or folder"):
        parse_card(card(repo_id="a/b", filename="../../x", revision="main", sha256="0" * 64), "c.yaml")


def test_upstream_paths_outside_the_package_are_refused(tmp_path):
    """Item 22: upstream.files[].path ../../../../etc/passwd was read and hashed."""
    from zoo_core.weights.upstream import upstream_sources

    data = card(repo_id="a/b", filename="x.safetensors", revision="main", sha256="0" * 64)
    data["upstream"] = {"package": "torch", "format": "ncnn",
                        "files": [{"path": "../../../../etc/passwd", "sha256": "0" * 64}]}
    with pytest.raises(ZooError, match="leads outside"):
        upstream_sources(parse_card(data, "c.yaml"))
    with pytest.raises(ZooError, match="leads outside"):
        upstream_sources(parse_card(data, "c.yaml"), upstream_dir=tmp_path)
    os.symlink("/etc", tmp_path / "etc")  # a link inside the folder that leads out of it
    data["upstream"]["files"][0]["path"] = "etc/passwd"
    with pytest.raises(ZooError, match="leads outside"):
        upstream_sources(parse_card(data, "c.yaml"), upstream_dir=tmp_path)


def test_train_run_dir_that_cannot_be_made_is_one_line(tmp_path, capsys):
    """Item 15: `zoo train` with run_dir: /proc/forbidden gave a FileNotFoundError traceback."""
    (tmp_path / "afile").write_text("not a folder")
    cfg = tmp_path / "t.yaml"
    cfg.write_text(f"""name: t
model: {{architecture: drrn-lite, hyperparameters: {{scale: 2, channels: 8}}}}
data: {{synthetic: {{count: 2, size: 48, seed: 0}}, patch_size: 32}}
degradation: {{name: seed-jpeg, options: {{noise_level: 0}}}}
loss: {{name: weighted-mse}}
optim: {{steps: 1, batch_size: 1, lr: 0.001}}
run_dir: {tmp_path / "afile" / "run"}
""")
    err = one_error(["train", str(cfg)], capsys)
    assert "afile" in err and "Not a directory" in err and "Check run_dir" in err


def test_eval_flags_and_weights_paths_are_checked(tmp_path, capsys):
    """New cases: zoo eval --border -5 was accepted; --weights . or /dev/null said 'does not exist'."""
    with pytest.raises(SystemExit):
        main(["eval", TINY, str(tmp_path), "--border", "-5"])
    assert "--border must be an integer from 0 to 4096, got '-5'" in capsys.readouterr().err
    src = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(src)
    for weights in (str(tmp_path), "/dev/null"):
        err = one_error(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", TINY, "--weights", weights], capsys)
        assert "is not a regular file (a folder or a device)" in err


def test_every_writer_cleans_up_on_sigterm_and_after_a_killed_run(tmp_path):
    """The one rule for all writing commands (convert, push, eval --grid, train exports): SIGTERM during a
    write removes the temp file, and a dead process's leftover .part is removed by the next write there."""
    import signal
    import subprocess
    import sys

    from zoo_core import atomic

    def half_then_sigterm(f):
        f.write(b"half")
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at the next line of Python
        f.write(b"rest")
    with pytest.raises(atomic.Terminated):
        atomic.atomic_write(tmp_path / "w.safetensors", half_then_sigterm)
    assert list(tmp_path.iterdir()) == [] and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    later = tmp_path / "later"  # a folder this process has not written to yet, as for a new run
    later.mkdir()
    (later / f".w.safetensors.zoo{dead}-x1.part").write_bytes(b"left by a killed run")
    atomic.write_bytes(later / "other.bin", b"data")
    assert sorted(p.name for p in later.iterdir()) == ["other.bin"]


def test_a_callers_own_sigterm_handler_is_kept_during_writes(tmp_path):
    """The trainer's SIGTERM handler (checkpoint, then stop) must not be replaced while it writes."""
    import signal

    from zoo_core import atomic

    heard: list[int] = []
    old = signal.signal(signal.SIGTERM, lambda signum, _frame: heard.append(signum))
    try:
        def signalled(f):
            f.write(b"checkpoint")
            os.kill(os.getpid(), signal.SIGTERM)
        atomic.atomic_write(tmp_path / "ckpt.safetensors", signalled)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert heard == [signal.SIGTERM] and (tmp_path / "ckpt.safetensors").read_bytes() == b"checkpoint"
