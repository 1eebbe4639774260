"""The ncnn reader follows ncnn's ModelBinFromDataReader: every weight storage, every weight-bearing layer type."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from torch import nn

import zoo
from zoo_core.default_plugins.formats_ncnn import NcnnFormat

PARAM = """7767517
5 5
Input            in  0 1 data
Convolution      c1  1 1 data a 0=4 1=3 5=1 6=108
PReLU            p1  1 1 a b 0=4
InnerProduct     f1  1 1 b c 0=3 1=1 2=12
Convolution      c2  1 1 c d 0=3 1=1 5=0 6=9
"""


def module() -> nn.Module:
    """conv 3x3 + PReLU + a fully connected layer as a 1x1 conv (an SE block's shape) + a bias-free 1x1 conv."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4), nn.Conv2d(4, 3, 1), nn.Conv2d(3, 3, 1, bias=False))


def stored(values: np.ndarray, storage: str) -> bytes:
    """`values` as ncnn writes a tagged weight blob (the type-0 load)."""
    n = values.size
    if storage == "fp32":
        return b"\0\0\0\0" + values.astype("<f4").tobytes()
    if storage == "raw-scaled":
        return struct.pack("<I", 0x0002C056) + values.astype("<f4").tobytes()
    if storage == "fp16":
        raw = values.astype("<f2").tobytes()
        return struct.pack("<I", 0x01306B47) + raw + b"\0" * (-len(raw) % 4)
    if storage == "table":  # any other non-zero tag: 256 fp32 values, then one uint8 index per weight
        table = np.linspace(-1, 1, 256, dtype="<f4")
        index = np.abs(values[:, None] - table[None]).argmin(1).astype(np.uint8)
        return struct.pack("<I", 0xBDAFBEC8) + table.tobytes() + index.tobytes() + b"\0" * (-n % 4)
    if storage == "int8":
        return struct.pack("<I", 0x000D4B38) + np.zeros(n + (-n % 4), np.int8).tobytes()
    raise ValueError(storage)


def decoded(values: np.ndarray, storage: str) -> np.ndarray:
    """What ncnn itself loads for `values` stored that way."""
    if storage == "fp16":
        return values.astype(np.float16).astype(np.float32)
    if storage == "table":
        table = np.linspace(-1, 1, 256, dtype=np.float32)
        return table[np.abs(values[:, None] - table[None]).argmin(1)]
    return values.astype(np.float32)


def write(tmp_path, storage: str, rng: np.random.Generator) -> tuple[list, dict[str, np.ndarray]]:
    w1, b1, slope = rng.uniform(-1, 1, 108), rng.uniform(-1, 1, 4), rng.uniform(0, 0.3, 4)
    wf, bf, w2 = rng.uniform(-1, 1, 12), rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 9)
    raw = lambda a: a.astype("<f4").tobytes()  # noqa: E731  biases and slopes: untagged fp32
    data = stored(w1, storage) + raw(b1) + raw(slope) + stored(wf, storage) + raw(bf) + stored(w2, storage)
    (tmp_path / "m.param").write_text(PARAM)
    (tmp_path / "m.bin").write_bytes(data)
    want = {"0.weight": decoded(w1, storage).reshape(4, 3, 3, 3), "0.bias": b1, "1.weight": slope,
            "2.weight": decoded(wf, storage).reshape(3, 4, 1, 1), "2.bias": bf,
            "3.weight": decoded(w2, storage).reshape(3, 3, 1, 1)}
    return [tmp_path / "m.param", tmp_path / "m.bin"], want


@pytest.mark.parametrize("storage", ["fp32", "raw-scaled", "fp16", "table"])
def test_every_float_storage_reads_as_ncnn_loads_it(tmp_path, storage):
    paths, want = write(tmp_path, storage, np.random.default_rng(1))
    state = NcnnFormat().convert("tiny", module(), paths).state_dict
    assert sorted(state) == sorted(want)
    for key, value in want.items():
        assert torch.equal(state[key], torch.from_numpy(np.asarray(value, np.float32))), key
    if storage == "table":  # odd weight counts are padded to 4 bytes: the next blob still lines up
        assert len(paths[1].read_bytes()) % 4 == 0


def test_int8_weights_are_refused_in_one_line(tmp_path):
    paths, _ = write(tmp_path, "int8", np.random.default_rng(2))
    with pytest.raises(zoo.WeightsError, match="int8") as err:
        NcnnFormat().convert("tiny", module(), paths)
    assert "\n" not in str(err.value)


def test_a_layer_type_without_a_known_weight_layout_is_refused(tmp_path):
    paths, _ = write(tmp_path, "fp32", np.random.default_rng(3))
    paths[0].write_text(PARAM.replace("PReLU            p1", "LSTM             p1"))
    with pytest.raises(zoo.WeightsError, match="'LSTM'"):
        NcnnFormat().convert("tiny", module(), paths)


def test_a_prelu_where_the_module_has_a_conv_is_refused(tmp_path):
    paths, _ = write(tmp_path, "fp32", np.random.default_rng(4))
    wrong = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 1), nn.Conv2d(4, 3, 1), nn.Conv2d(3, 3, 1, bias=False))
    with pytest.raises(zoo.WeightsError, match="PReLU"):
        NcnnFormat().convert("tiny", wrong, paths)
