"""`torchrun --nproc-per-node 2 -m zoo upscale DIR -o OUT`: files sharded by rank over gloo on the CPU."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.mark.slow
def test_two_cpu_processes_share_a_folder_and_agree_on_failure(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(src / f"{i}.png")
    (src / "9-bad.png").write_bytes(b"not a picture")  # the last of 6: rank 1's share
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "zoo", "upscale", str(src), "-o", str(out), "-m", "example-tiny", "--device", "cpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode != 0, r.stderr  # one rank's failure fails the whole run
    done = [ln for ln in r.stdout.splitlines() if " -> " in ln]
    assert sorted(Path(ln.split(" -> ")[1]).name for ln in done) == [f"{i}.png" for i in range(5)]  # each once
    assert sorted(p.name for p in out.iterdir()) == [f"{i}.png" for i in range(5)]
    assert r.stderr.count("9-bad.png: not an image file") == 1
    assert r.stderr.count("zoo: 1 of 6 file(s) failed") == 1  # rank 0 reports the total once
