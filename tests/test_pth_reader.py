"""The restricted .pth reader (zoo_core/weights/pth.py): tensors and plain containers back, anything else refused
before it runs, in one line."""
from __future__ import annotations

import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

import zoo
from zoo_core.cli import main
from zoo_core.weights.pth import read_pth


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # unpickling this would create the marker file


def _state() -> OrderedDict:
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    return OrderedDict([("w", base), ("view", base[:, 1]), ("half", torch.linspace(-1, 1, 5).half()),
                        ("bf16", torch.tensor([1.5, -2.25]).bfloat16()), ("steps", torch.tensor(7)),
                        ("param", torch.nn.Parameter(torch.ones(2, 2))), ("empty", torch.zeros(0, 3))])


@pytest.mark.parametrize("zip_format", [True, False])
def test_tensors_come_back_equal_in_both_torch_save_formats(tmp_path, zip_format):
    path = tmp_path / "m.pth"
    state = _state()
    torch.save({"params_ema": state, "iter": 3, "names": ["a", ("b", 1.5)]}, path,
               _use_new_zipfile_serialization=zip_format)
    got = read_pth(path)
    assert got["iter"] == 3 and got["names"] == ["a", ("b", 1.5)]
    for key, value in state.items():
        assert got["params_ema"][key].dtype == value.dtype and torch.equal(got["params_ema"][key], value.detach()), key


def test_a_module_state_dict_with_its_metadata_reads(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    torch.save(net.state_dict(), tmp_path / "net.pth")
    got = read_pth(tmp_path / "net.pth")
    assert set(got) == set(net.state_dict()) and torch.equal(got["1.num_batches_tracked"], torch.tensor(0))


@pytest.mark.parametrize("how", ["zip", "legacy", "plain"])
def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path, how):
    marker, path = tmp_path / "pwned", tmp_path / "evil.pth"
    payload = {"w": torch.zeros(2), "x": _Evil(str(marker))}
    if how == "plain":
        path.write_bytes(pickle.dumps(payload["x"], protocol=2))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=how == "zip")
    with pytest.raises(zoo.WeightsError) as err:
        read_pth(path)
    message = str(err.value)
    assert "asks to load 'io.open'" in message or "asks to load 'builtins.open'" in message, message
    assert "\n" not in message and not marker.exists()


@pytest.mark.slow  # the whole CLI and registry
def test_zoo_import_of_a_malicious_file_is_one_line_and_runs_nothing(tmp_path, capsys):
    marker, path = tmp_path / "pwned", tmp_path / "evil.pth"
    torch.save({"body.0.weight": torch.zeros(1), "x": _Evil(str(marker))}, path)
    assert main(["import", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "zoo reads only tensors" in err and not marker.exists()
    assert not list(Path(os.environ["ZOO_HOME"]).rglob("*.safetensors"))  # nothing half-imported


def test_damaged_and_foreign_files_are_one_line(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.ones(64)}, good)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:300])
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    lost = tmp_path / "lost.pth"  # a zip whose tensor bytes are missing
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(lost, "w") as dst:
        for item in src.infolist():
            if "/data/" not in item.filename:
                dst.writestr(item, src.read(item))
    for path in (cut, text, lost):
        with pytest.raises(zoo.WeightsError) as err:
            read_pth(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
