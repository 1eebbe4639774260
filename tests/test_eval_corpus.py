"""benchmarks/eval_corpus.py's protocols: the 1x denoise input, its baseline and its refusal without --noise."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import eval_corpus as ec  # noqa: E402


def _hr() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8))


def test_the_1x_input_is_the_jpeg_passes_only_same_size_and_seeded_by_name():
    deg, hr = ec.degrader(3), _hr()
    a, b, other = deg(hr, 1, "a.png"), deg(hr, 1, "a.png"), deg(hr, 1, "b.png")
    assert a.size == hr.size and np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(hr)) and not np.array_equal(np.asarray(a), np.asarray(other))
    assert deg(hr, 2, "a.png").size == (24, 24)


def _report(scale: int) -> dict:
    mean = {m: {"psnr_y": v} for m, v in (("model", 31.5), ("bicubic", 30.0), ("lanczos", 30.1))}
    return {"mean": mean, "scale": scale}


def test_a_1x_metric_is_a_gain_over_the_jpeg_input_and_names_its_command():
    m = ec.metric("debian-art", "drawings", _report(1), 46, noise=2, model="cunet-denoise2", note="a note")
    assert m["input"] == 30.0 and "bicubic" not in m and m["gain_db"] == 1.5
    assert "gain is over the JPEG input" in m["protocol"] and m["dataset"].endswith("; a note")
    assert m["command"].endswith("--noise 2 --models cunet-denoise2")
    two = ec.metric("debian-art", "drawings", _report(2), 46)
    assert two["bicubic"] == 30.0 and "input" not in two and "--noise" not in two["command"]
    fewer = ec.metric("debian-art", "drawings", _report(2), 16, model="m", flags=" --drawings 16")
    assert fewer["command"].endswith("--drawings 16 --models m") and fewer["dataset"].startswith("16 192px crops")


def test_a_1x_model_without_noise_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(ec, "load", lambda model, weights=None, backend=None: type("U", (), {"scale": 1})())
    with pytest.raises(SystemExit, match="1x model.*--noise"):
        ec.evaluate("cunet-denoise1", None, {})
