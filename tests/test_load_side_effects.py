"""Loading a model changes no process-wide state and writes nothing: threads belong to the runner."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

import zoo
from zoo_core.default_plugins.backend_torch import TorchBackend, torch_threads


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class _SeesThreads(nn.Module):
    """Identity that records torch's thread count during its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(torch.get_num_threads())
        return x


def test_a_second_load_leaves_the_thread_state_and_the_first_model_alone():
    before = torch.get_num_threads()
    other = 1 if before > 1 else 2
    first = zoo.load("example-tiny-nearest", backend="torch", threads=other)
    assert torch.get_num_threads() == before  # was set process-wide by the torch backend's prepare
    second = zoo.load("example-tiny-nearest", backend="torch", threads=before)
    assert torch.get_num_threads() == before and first.runner.threads == other and second.runner.threads == before
    rgb = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    assert np.array_equal(first.upscale(rgb), rgb.repeat(2, 0).repeat(2, 1))
    assert torch.get_num_threads() == before


def test_the_runner_runs_with_its_own_threads_and_restores_them():
    before = torch.get_num_threads()
    other = 1 if before > 1 else 2
    probe = _SeesThreads()
    runner = TorchBackend().prepare(module=probe, arch_id="probe", device="cpu", precision="fp32", threads=other)
    runner(torch.zeros(1, 3, 4, 4))
    assert probe.seen == [other] and torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_load_writes_nothing_to_zoo_home(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ZOO_HOME", str(home))  # no costs.json yet: the old load measured and wrote one
    up = zoo.load("example-tiny-nearest")
    assert up.backend == "ncnn" and up.planner is not None  # the CPU default: tiling read the model's costs
    assert _tree(home) == {}, os.listdir(home)
