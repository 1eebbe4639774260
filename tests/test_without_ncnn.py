"""zoo installs and runs without the ncnn engine: listing works and images upscale on torch (ncnn says why not)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _zoo(args: list[str], blocker: Path, cwd: Path) -> subprocess.CompletedProcess:
    """`zoo ARGS` in a fresh process where `import ncnn` fails, as it does where the package is not installed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


@pytest.mark.slow
def test_list_and_upscale_on_torch_without_ncnn(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "ncnn.py").write_text("raise ImportError('No module named ncnn (made unimportable by the test)')\n")
    rgb = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "in.png")

    listed = _zoo(["list"], blocker, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "example-tiny-nearest" in listed.stdout and "upconv7-scale2x" in listed.stdout

    done = _zoo(["upscale", "in.png", "-o", "out.png", "-m", "example-tiny-nearest", "-q"], blocker, tmp_path)
    assert done.returncode == 0, done.stderr
    out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert np.array_equal(out, rgb.repeat(2, axis=0).repeat(2, axis=1))  # the card is an exact nearest 2x

    refused = _zoo(["upscale", "in.png", "-o", "o2.png", "-m", "example-tiny-nearest", "--backend", "ncnn"],
                   blocker, tmp_path)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "'ncnn' package is not installed" in refused.stderr, refused.stderr
    assert not (tmp_path / "o2.png").exists()


def test_ncnn_is_an_extra_of_core_that_the_setup_installs():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("ncnn")]  # core installs without it
    assert [d for d in project["optional-dependencies"]["ncnn"] if d.startswith("ncnn")]
    assert "-e .[test,serve,ncnn]" in (root / "requirements.txt").read_text().splitlines()  # the README's setup
