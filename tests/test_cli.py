"""The `zoo` console script, run as a user would run it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo

ZOO = str(Path(sys.executable).parent / "zoo")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([ZOO, *args], capture_output=True, text=True, timeout=300,  # a cold ZOO_HOME measures every model's cost first
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})


@pytest.mark.slow
def test_list_table_and_json():
    r = run("list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split()[:3] == ["NAME", "ARCH", "SCALE"]
    assert any(line.startswith("upconv7-scale2x ") and line.rstrip().endswith("yes") for line in r.stdout.splitlines())
    rows = json.loads(run("list", "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["example-tiny-nearest"]["parameters"] == 336
    assert by_name["upconv7-scale2x"]["offline"] is True
    assert run("list", "no-such-thing").stdout.strip().endswith("(no models match)")


@pytest.mark.slow
def test_info_and_plugins():
    info = json.loads(run("info", "upconv7", "--json").stdout)
    assert info["name"] == "upconv7-scale2x" and info["geometry"]["offset"] == 7
    assert info["cost"]["parameters"] == 552_480
    plugins = json.loads(run("plugins", "--json").stdout)
    names = {p["name"]: p for p in plugins}
    assert "register_architectures" in names["upconv7"]["hooks"]
    assert names["builtins"]["distribution"] == "zoo-core" and names["builtins"]["error"] is None


@pytest.mark.slow
def test_unknown_model_is_one_line_and_exit_1():
    r = run("info", "espcn8")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: Unknown model 'espcn8'.")
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_broken_plugin_is_a_warning_in_list(install_plugin):
    install_plugin("zoo-broken", "zoo_broken", "raise ImportError('missing dependency foo')")
    r = run("list")
    assert r.returncode == 0
    assert "warning: plugin 'zoo-broken': failed to load: ImportError: missing dependency foo" in r.stderr
    assert "upconv7-scale2x" in r.stdout
    p = run("plugins")
    assert "zoo-broken" in p.stdout and "BROKEN" in p.stdout and "missing dependency foo" in p.stdout


@pytest.mark.slow
def test_upscale_end_to_end_with_third_party_model(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (11, 7, 3), dtype=np.uint8)).save(src)
    out = tmp_path / "out.png"
    r = run("upscale", str(src), "-o", str(out), "-m", "example-tiny")
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (14, 22)
        assert np.array_equal(np.asarray(im), np.asarray(Image.open(src)).repeat(2, 0).repeat(2, 1))


def test_python_api_takes_pil_array_and_path(tmp_path):
    up = zoo.load("example-tiny")
    arr = np.random.default_rng(1).integers(0, 255, (5, 6, 3), dtype=np.uint8)
    assert up.upscale(arr).shape == (10, 12, 3)
    img = Image.fromarray(arr)
    assert up.upscale(img).size == (12, 10)
    p = tmp_path / "a.png"
    img.save(p)
    assert isinstance(up.upscale(p), Image.Image)


@pytest.mark.slow
def test_default_model_runs_offline_from_upstream(tmp_path):
    """The README's default model works with no network: rebuilt from the installed upstream package."""
    up = zoo.load("upconv7")
    arr = np.random.default_rng(2).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    assert up.upscale(arr).shape == (16, 16, 3)
