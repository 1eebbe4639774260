"""Issue 25: the seeded mutation corpus of test_fuzz_decoders, over what `zoo convert` reads (ncnn .param/.bin,
waifu2x JSON, ONNX) and over model cards. Every damaged file is one ZooError line or a good conversion; never
another exception. ZOO_FUZZ_CASES raises the number of mutants per file and kind of damage (CI)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

import zoo
from test_fuzz_decoders import CASES, mutants
from zoo_core.cards import load_card_file
from zoo_core.errors import ZooError
from zoo_core.registry import get_registry
from zoo_core.api import weight_format
from zoo_core.weights.convert import converted_bytes

ARCH = "fuzz-convstack"


def build() -> nn.Module:
    """Two unpadded 3×3 convs: small enough that each mutant converts in milliseconds."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.1), nn.Conv2d(4, 3, 3))


@pytest.fixture
def arch() -> zoo.Architecture:
    a = zoo.Architecture(id=ARCH, build=build, scale=1, offset=2, context=2)
    get_registry().add("architectures", ARCH, a, "test")
    return a


def sources(tmp_path: Path) -> dict[str, list[Path]]:
    """Valid ncnn, JSON and ONNX files of the same weights, written by zoo's exporter and the formats' own layouts."""
    torch.manual_seed(0)
    module = build()
    state = module.state_dict()
    from zoo_core.default_plugins.ncnn_export import export_ncnn

    model = export_ncnn(module)
    (tmp_path / "m.param").write_text(model.param)
    (tmp_path / "m.bin").write_bytes(model.bin)
    layers = [{"class_name": "nn.SpatialConvolutionMM", "kW": 3, "kH": 3, "dW": 1, "dH": 1, "padW": 0, "padH": 0,
               "nInputPlane": state[f"{n}.weight"].shape[1], "nOutputPlane": state[f"{n}.weight"].shape[0],
               "weight": state[f"{n}.weight"].tolist(), "bias": state[f"{n}.bias"].tolist()} for n in ("0", "2")]
    (tmp_path / "m.json").write_text(json.dumps(layers))
    out = {"ncnn": [tmp_path / "m.param", tmp_path / "m.bin"], "json": [tmp_path / "m.json"]}
    try:
        out["onnx"] = [onnx_file(state, tmp_path / "m.onnx")]
    except ImportError:
        print("onnx is not installed: the ONNX mutants are left out")  # the reason, printed
    return out


def onnx_file(state: dict[str, torch.Tensor], path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    inits, nodes, prev = [], [], "input"
    for i, n in enumerate(("0", "2")):
        w, b = state[f"{n}.weight"], state[f"{n}.bias"]
        inits += [helper.make_tensor(f"w{i}", TensorProto.FLOAT, list(w.shape), w.flatten().tolist()),
                  helper.make_tensor(f"b{i}", TensorProto.FLOAT, list(b.shape), b.tolist())]
        nodes.append(helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[3, 3],
                                      strides=[1, 1], pads=[0, 0, 0, 0]))
        prev = f"c{i}"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), str(path))
    return path


NUMBER = re.compile(rb"-?[0-9]+(\\.[0-9]+)?")
TOKENS = [b"0", b"-1", b"-233", b"\xc2\xb2", b"9" * 5000, b"1.5", b"abc", b"99999999999", b"1e400", b"NaN", b"[]",
          b'"x"', b"null", b"true"]


def token_mutants(data: bytes, seed: int) -> list[bytes]:
    """Text formats (.param, JSON): one number replaced by a hostile token (a parser's branches are its numbers)."""
    rng = np.random.default_rng(seed)
    spans = [m.span() for m in NUMBER.finditer(data[:20000])]
    out = []
    for _ in range(CASES):
        a, b = spans[int(rng.integers(len(spans)))]
        out.append(data[:a] + TOKENS[int(rng.integers(len(TOKENS)))] + data[b:])
    return out


def convert(arch: zoo.Architecture, fmt: str, paths: list[Path]) -> None:
    """What `zoo convert` runs between reading the files and writing the output."""
    converted_bytes(arch, weight_format(fmt), paths)


def test_the_unmutated_files_convert(arch, tmp_path):
    for fmt, paths in sources(tmp_path).items():
        convert(arch, fmt, paths)  # the corpus starts from files that are good


@pytest.mark.slow
def test_mutated_weight_files_only_ever_give_one_line_errors(arch, tmp_path):
    bad: list[str] = []
    tried = 0
    for i, (fmt, paths) in enumerate(sources(tmp_path).items()):
        for target in paths:  # each file of the set damaged in turn, the others intact
            good = target.read_bytes()
            seed = 300 + 10 * i + len(target.suffix)
            text = target.suffix in (".param", ".json")
            for j, mutant in enumerate(mutants(good, seed) + (token_mutants(good, seed) if text else [])):
                target.write_bytes(mutant)
                tried += 1
                try:
                    convert(arch, fmt, paths)
                except ZooError as err:
                    assert "\n" not in str(err), str(err)
                except Exception as exc:  # noqa: BLE001 - collect every escape, report them all
                    bad.append(f"{target.name} #{j}: {type(exc).__name__}: {str(exc)[:200]}")
            target.write_bytes(good)
    assert tried >= 2 * CASES * 4
    assert not bad, "\n".join(bad[:20])


def card_texts() -> list[str]:
    """A few shipped cards' YAML: a Hub card, a package-file card, a card with upstream files."""
    reg = get_registry()
    names = [n for n in ("upconv7-scale2x", "drrn-lite", "realcugan-se-4x", "example-tiny") if n in reg.cards]
    return [Path(reg.cards[n].source).read_text() for n in names if Path(reg.cards[n].source).is_file()]


HOSTILE = ["../../etc/passwd", "/etc/passwd", ":", "zoopayload:w.safetensors", "pkg:../../x", "a\nb", "",
           "x" * 3000, 10**40, -1, 0, 1e308, float("nan"), [], {}, None, True, "refs/../../x", "org/name@../x"]


def value_mutants(text: str, seed: int) -> list[str]:
    """The card with one leaf value replaced by a hostile one (paths, numbers, types)."""
    rng = np.random.default_rng(seed)
    data = yaml.safe_load(text)
    leaves = [(k, sub) for k, v in data.items() for sub in (v.keys() if isinstance(v, dict) else [None])]
    out = []
    for _ in range(CASES):
        key, sub = leaves[int(rng.integers(len(leaves)))]
        copy = json.loads(json.dumps(data))
        value = HOSTILE[int(rng.integers(len(HOSTILE)))]
        if sub is None:
            copy[key] = value
        else:
            copy[key][sub] = value
        out.append(yaml.safe_dump(copy))
    return out


@pytest.mark.slow
def test_mutated_cards_only_ever_give_one_line_errors(tmp_path):
    from zoo_core.weights.sources import package_file

    texts = card_texts()
    assert texts, "no shipped card file found"
    bad: list[str] = []
    path = tmp_path / "card.yaml"
    for i, text in enumerate(texts):
        corpus = [m.decode("utf-8", "replace") for m in mutants(text.encode(), seed=400 + i)]
        for j, mutant in enumerate(corpus + value_mutants(text, seed=500 + i)):
            path.write_text(mutant)
            try:
                card = load_card_file(path)
                if card.trained and not card.on_hub:
                    found = package_file(card.weights["file"], card)
                    assert Path(found).resolve().is_relative_to(tmp_path) or "site-packages" in str(found) or \
                        "plugins" in str(found), found
            except ZooError as err:
                assert "\n" not in str(err), str(err)
            except Exception as exc:  # noqa: BLE001 - collect every escape, report them all
                bad.append(f"card {i} #{j}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not bad, "\n".join(bad[:20])
