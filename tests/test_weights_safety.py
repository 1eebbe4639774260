"""Weights are safetensors only, shape-checked, sha256-verified; concurrent fetches leave one good copy."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo_core.weights.safetensors_io import save_safetensors, sha256_file

ZOO = str(Path(sys.executable).parent / "zoo")


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # unpickling this would create the marker file


def test_pickle_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    for name in ("evil.pth", "evil.safetensors"):  # refused by suffix and by content
        evil = tmp_path / name
        evil.write_bytes(pickle.dumps(_Evil(str(marker)), protocol=4))
        with pytest.raises(zoo.WeightsError) as exc:
            zoo.load("example-tiny", weights=evil)
        assert "zoo import" in str(exc.value) or "not a valid safetensors" in str(exc.value)
    assert not marker.exists()


def test_truncated_safetensors(tmp_path):
    good = tmp_path / "good.safetensors"
    module = zoo.get_registry().architecture("example-tiny").create()
    save_safetensors(good, module.state_dict())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(zoo.WeightsError, match="not a valid safetensors file"):
        zoo.load("example-tiny", weights=bad)


def test_wrong_shape_names_the_tensor(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors(path, {"conv.weight": torch.zeros(12, 3, 5, 5), "conv.bias": torch.zeros(12)})
    with pytest.raises(zoo.WeightsError, match=r"tensor 'conv.weight' has shape \(12, 3, 5, 5\), expected \(12, 3, 3, 3\)"):
        zoo.load("example-tiny", weights=path)


def test_wrong_architecture_file(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors(path, {"other.weight": torch.zeros(1)})
    with pytest.raises(zoo.WeightsError, match="does not fit this architecture"):
        zoo.load("example-tiny", weights=path)


def test_shipped_weights_with_wrong_sha_are_refused(install_plugin):
    src = f"""
import zoo
@zoo.hookimpl
def register_model_cards(register):
    register(dict(name="tiny-bad-sha", architecture="example-tiny", hyperparameters={{"scale": 2}},
                  task={{"scale": 2, "noise_level": -1, "style": "art"}},
                  weights={{"file": "zoo_example:weights/tiny-nearest.safetensors", "sha256": "{'1' * 64}"}},
                  license="MIT", description="x"))
"""
    install_plugin("zoo-badsha", "zoo_badsha", src)
    with pytest.raises(zoo.WeightsError, match="sha256 of .* the card expects 1111"):
        zoo.load("tiny-bad-sha")


@pytest.mark.slow
def test_two_processes_fetching_at_once_leave_one_good_copy(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ZOO_HOME": str(tmp_path)}
    procs = [subprocess.Popen([ZOO, "fetch", "-q", "upconv7-scale2x"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "costs.json"]  # the cost cache aside
    assert len(files) == 1, files  # no temp files left behind
    assert sha256_file(files[0]) == zoo.get_card("upconv7-scale2x").weights["sha256"]


@pytest.mark.parametrize("length", [0x0280, 0x0480, 0x0580, 0x4B50])
def test_safetensors_whose_header_length_looks_like_a_pickle_magic_still_load(tmp_path, length):
    """A header of 640/1152/1408/19280 bytes starts 80 02 / 80 04 / 80 05 / 'PK': still a safetensors file."""
    import json
    import struct

    import torch

    from zoo_core.weights.safetensors_io import load_safetensors

    header = {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {"pad": ""}}
    raw = json.dumps(header).encode()
    header["__metadata__"]["pad"] = "x" * (length - len(raw))
    raw = json.dumps(header).encode()
    assert len(raw) == length
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", length) + raw + struct.pack("<f", 1.5))
    tensors, _ = load_safetensors(path)
    assert torch.equal(tensors["t"], torch.tensor([1.5]))
