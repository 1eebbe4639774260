"""Issue 25 item 13: every malformed ncnn / JSON / ONNX file `zoo convert` is given is one line, never a traceback,
and never an output; NaN or infinite weights are refused at convert."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from test_convert import export_json, ncnn_state, onnx_model, package_paths
from zoo_core.cli import main

CARD = "upconv7-scale2x"


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    """upconv7-scale2x's weights, converted from the installed package's ncnn files."""
    return ncnn_state(CARD)


def converts_to_one_line(argv: list[str], out: Path, capsys: pytest.CaptureFixture) -> str:
    """Run `zoo convert`; it must fail with exactly one `zoo: error:` line and leave no output."""
    code = main(["convert", *argv, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: "), err
    assert not out.exists() and not list(out.parent.glob(".*.part"))
    return lines[0]


def ncnn_files(tmp_path: Path, edit: Callable[[list[str]], list[str]], bin_edit=None) -> list[str]:
    """The package's .param edited line by line (and its .bin, optionally), written to tmp_path."""
    param, binf = package_paths(CARD)
    lines = param.read_text().split("\n")
    p, b = tmp_path / "m.param", tmp_path / "m.bin"
    p.write_text("\n".join(edit(lines)))
    data = binf.read_bytes()
    b.write_bytes(bin_edit(data) if bin_edit else data)
    return ["--arch", "upconv7", "--format", "ncnn", str(p), str(b)]


def first_conv(lines: list[str], old: str, new: str) -> list[str]:
    i = next(i for i, ln in enumerate(lines) if ln.startswith("Convolution"))
    assert f" {old}" in lines[i]
    lines[i] = lines[i].replace(f" {old}", f" {new}", 1)
    return lines


NCNN_CASES = {
    "superscript layer count": (lambda ls: [ls[0], "\u00b2 8", *ls[2:]], "declares"),
    "5000-digit layer count": (lambda ls: [ls[0], "5" * 5000 + " 8", *ls[2:]], "declares"),
    "kernel 1=0": (lambda ls: first_conv(ls, "1=3", "1=0"), "kernel"),
    "num_output 0=-1": (lambda ls: first_conv(ls, "0=16", "0=-1"), "num_output"),
    "5000-digit param value": (lambda ls: first_conv(ls, "0=16", "0=" + "9" * 5000), "integer"),
    "BatchNorm 0=-1": (lambda ls: [ls[0], f"{int(ls[1].split()[0]) + 1} {int(ls[1].split()[1]) + 1}", *ls[2:4],
                                   "BatchNorm bn 1 1 input_bn input_bnx 0=-1", *ls[4:]], "layer 'bn'"),
}


@pytest.mark.parametrize("case", list(NCNN_CASES))
def test_malformed_ncnn_files_are_one_line(case, tmp_path, capsys):
    edit, word = NCNN_CASES[case]
    err = converts_to_one_line(ncnn_files(tmp_path, edit), tmp_path / "o.safetensors", capsys)
    assert word in err and "m.param" in err, err


def json_file(tmp_path: Path, state: dict[str, torch.Tensor], edit: Callable[[list[dict]], None] | None = None,
              text: Callable[[str], str] | None = None) -> list[str]:
    layers = export_json(state, {})
    if edit:
        edit(layers)
    raw = json.dumps(layers)
    path = tmp_path / "m.json"
    path.write_text(text(raw) if text else raw)
    return ["--arch", "upconv7", "--format", "json", str(path)]


def set_field(key: str, value) -> Callable[[list[dict]], None]:
    def edit(layers: list[dict]) -> None:
        layers[0][key] = value
    return edit


JSON_CASES = {
    "class_name a list": (dict(edit=set_field("class_name", ["nn.SpatialConvolutionMM"])), "class_name"),
    "class_name a mapping": (dict(edit=set_field("class_name", {"a": 1})), "class_name"),
    "negative dimension": (dict(edit=set_field("nOutputPlane", -32)), "nOutputPlane"),
    "zero kernel": (dict(edit=set_field("kW", 0)), "kW"),
    "huge dimension": (dict(edit=set_field("nInputPlane", 10**12)), "nInputPlane"),
    "5000-digit dimension": (dict(text=lambda s: s.replace('"nInputPlane": 3', '"nInputPlane": ' + "7" * 5000, 1)),
                             "m.json"),
    "weight not a list": (dict(edit=set_field("weight", "abc")), "weight"),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_malformed_json_files_are_one_line(case, state, tmp_path, capsys):
    kw, word = JSON_CASES[case]
    err = converts_to_one_line(json_file(tmp_path, state, **kw), tmp_path / "o.safetensors", capsys)
    assert word in err, err


def onnx_with(tmp_path: Path, state: dict[str, torch.Tensor], edit: Callable) -> list[str]:
    onnx = pytest.importorskip("onnx", reason="the onnx package is part of the test extra")
    path = onnx_model(state, tmp_path / "m.onnx")
    model = onnx.load(str(path))
    edit(onnx, model)
    onnx.save(model, str(path))
    return ["--arch", "upconv7", "--format", "onnx", str(path)]


def set_attr(name: str, value) -> Callable:
    def edit(onnx, model) -> None:
        node = model.graph.node[0]
        keep = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        node.attribute.extend([*keep, onnx.helper.make_attribute(name, value)])
    return edit


def no_outputs(onnx, model) -> None:
    del model.graph.node[0].output[:]


def string_initializer(onnx, model) -> None:
    model.graph.initializer[0].CopyFrom(onnx.helper.make_tensor("w0", onnx.TensorProto.STRING, [1], [b"x"]))


def dims_without_data(onnx, model) -> None:
    empty = onnx.TensorProto(name="w0", data_type=onnx.TensorProto.FLOAT, dims=[32, 3, 3, 3])
    model.graph.initializer[0].CopyFrom(empty)


ONNX_CASES = {
    "strides [1]": (set_attr("strides", [1]), "strides"),
    "float strides": (set_attr("strides", [1.5, 1.5]), "strides"),
    "group 'abc'": (set_attr("group", "abc"), "group"),
    "pads of text": (set_attr("pads", "abc"), "pads"),
    "a node without outputs": (no_outputs, "m.onnx"),
    "a STRING initializer": (string_initializer, "w0"),
    "dimensions without data": (dims_without_data, "w0"),
}


@pytest.mark.parametrize("case", list(ONNX_CASES))
def test_malformed_onnx_files_are_one_line(case, state, tmp_path, capsys):
    edit, word = ONNX_CASES[case]
    err = converts_to_one_line(onnx_with(tmp_path, state, edit), tmp_path / "o.safetensors", capsys)
    assert word in err, err


def test_hyperparameters_out_of_range_are_one_line(tmp_path, capsys):
    """--hyperparameters '{"channels": 60000}' built a network of 60000 channels (minutes, gigabytes)."""
    args = ncnn_files(tmp_path, lambda ls: ls)
    args[1] = "drrn-lite"
    err = converts_to_one_line([*args, "--hyperparameters", '{"channels": 60000}'], tmp_path / "o.safetensors", capsys)
    assert "hyperparameters.channels must be an integer from 1 to 256, got 60000" in err


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused_at_convert(value, state, tmp_path, capsys):
    """NaN/Inf weights converted with exit 0 (and then gave an all-white image on the ncnn path)."""
    def poison(data: bytes) -> bytes:
        assert data[:4] == b"\x47\x6b\x30\x01"  # the package's first conv: fp16 weights (432), then fp32 biases
        at = 4 + 432 * 2
        return data[:at] + np.float32(value).tobytes() + data[at + 4:]
    err = converts_to_one_line(ncnn_files(tmp_path, lambda ls: ls, poison), tmp_path / "o.safetensors", capsys)
    assert "NaN" in err or "infinite" in err, err
    layers = export_json(state, {})
    layers[2]["bias"][0] = value
    path = tmp_path / "m.json"
    path.write_text(json.dumps(layers))  # json.dumps writes NaN / Infinity, which json.loads reads back
    err = converts_to_one_line(["--arch", "upconv7", "--format", "json", str(path)], tmp_path / "o.safetensors", capsys)
    assert "NaN" in err or "infinite" in err, err
