"""`zoo serve` flags and errors, and the job engine's choices (noise sibling, passes, progress total)."""
from __future__ import annotations

import socket

import pytest
from PIL import Image

import zoo
from zoo_core.cli import main
from zoo_core.serve.engine import JobSpec, ModelCache, pass_cards, run_job, scale_options

TINY = "example-tiny-nearest"


def names() -> list[str]:
    return [c.name for c in zoo.list_models()]


def test_serve_is_a_command_with_its_limits_as_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--max-upload-mb", "--max-pixels", "--max-output-pixels", "--jobs", "--queue"):
        assert flag in out
    assert "127.0.0.1" in out


@pytest.mark.parametrize("argv, words", [
    (["--jobs", "0"], "--jobs must be an integer from 1 to 1024, got 0."),
    (["--max-pixels", "-5"], "--max-pixels must be an integer from 1 to 1e+12, got -5."),
    (["--max-upload-mb", "nan"], "--max-upload-mb must be a number from 0.001 to 100000, got nan."),
    (["--max-upload-mb", "inf"], "--max-upload-mb must be a number from 0.001 to 100000, got inf."),
    (["--port", "70000"], "--port must be between"),
])
def test_bad_flags_are_one_line(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *argv]) == 1
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn", reason="zoo-core[serve] is not installed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"Port {port} on 127.0.0.1 is already in use" in err and err.count("\n") == 1


def test_noise_level_picks_the_sibling_card_and_only_the_first_pass_denoises() -> None:
    if "upconv7-noise1" not in names() or "upconv7-scale2x" not in names():
        pytest.skip("the upconv7 plugin's cards are not installed")
    spec = JobSpec(model="upconv7-scale2x", noise=1, scale=4, tta=False)
    assert pass_cards(spec) == ["upconv7-noise1", "upconv7-scale2x"]
    assert pass_cards(JobSpec(model="upconv7-noise3", noise=-1, scale=2, tta=False)) == ["upconv7-scale2x"]
    photo = pass_cards(JobSpec(model="upconv7-photo-noise0", noise=2, scale=8, tta=False))
    assert photo[0] == "upconv7-photo-noise2" and len(photo) == 3 and all("photo" in n for n in photo)


def test_scales_offered_are_within_the_clis_range() -> None:
    from zoo_core.infer.scaling import MAX_SCALE

    card = zoo.get_card(TINY) if TINY in names() else pytest.skip(f"{TINY} is not installed")
    options = scale_options(card)
    assert {1.5, 2, 3, 4} <= set(options) and max(options) == MAX_SCALE and min(options) >= 1


@pytest.mark.slow
def test_progress_total_matches_the_tiles_actually_run() -> None:
    if TINY not in names():
        pytest.skip(f"{TINY} is not installed")
    cache = ModelCache()
    img = Image.new("RGBA", (300, 8), (10, 200, 30, 128))  # 2 tiles wide, alpha: twice the tiles
    for scale, tta in ((2, True), (4, False)):  # TTA: 8 runs per tile; 4×: a second, larger pass
        totals: list[int] = []
        ticks: list[int] = []
        out, cards = run_job(img, JobSpec(model=TINY, noise=-1, scale=scale, tta=tta), cache,
                             on_total=totals.append, tick=ticks.append)
        assert out.size == (300 * scale, 8 * scale) and cards == [TINY] * (scale // 2)
        assert totals == [sum(ticks)] and sum(ticks) >= 4  # the progress bar ends exactly at its total
    assert cache.loads == 1
