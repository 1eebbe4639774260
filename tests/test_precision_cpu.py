"""bf16 is offered on the CPU only with native bf16 flags; --device cuda without CUDA is one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
import zoo_core.cpu_features as cf
from zoo_core.cli import main

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse sse2 avx fma avx2\n\nprocessor\t: 1\nflags\t\t: fpu avx2 amx_bf16\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


def test_flags_are_read_from_the_first_cpu_and_missing_file_is_empty(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text(AVX2_ONLY)
    assert cf.cpu_flags(f) == {"fpu", "sse", "sse2", "avx", "fma", "avx2"}
    assert cf.cpu_flags(tmp_path / "absent") == frozenset()
    f.write_text("Features\t: fp asimd bf16\n")  # arm64 spells the line differently
    assert "asimd" in cf.cpu_flags(f)


@pytest.mark.parametrize("flags,native", [
    ({"avx2", "fma"}, False), ({"avx512f", "avx512_vnni"}, False), ({"avx512_bf16"}, True), ({"amx_bf16"}, True),
])
def test_native_bf16_needs_avx512_bf16_or_amx(flags, native):
    assert cf.native_bf16(frozenset(flags)) is native


def test_bf16_on_a_cpu_without_it_is_refused_in_one_line():
    avx2 = frozenset({"avx2", "fma"})
    with pytest.raises(cf.PrecisionUnavailable) as err:
        cf.check_precision("cpu", "bf16", avx2)
    msg = str(err.value)
    assert "\n" not in msg and "avx512_bf16" in msg and "--precision fp32" in msg
    cf.check_precision("cpu", "fp32", avx2)  # the default always passes
    cf.check_precision("cuda", "bf16", avx2)  # a GPU's bf16 is not the CPU's business
    cf.check_precision("cpu", "bf16", frozenset({"amx_bf16"}))


def test_load_and_cli_refuse_bf16_on_an_avx2_cpu(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cf, "cpu_flags", lambda cpuinfo=cf.CPUINFO: frozenset({"avx2"}))
    with pytest.raises(cf.PrecisionUnavailable):
        zoo.load("upconv7-scale2x", precision="bf16")
    src = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    assert main(["upscale", str(src), "-o", str(tmp_path / "b.png"), "--precision", "bf16", "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bf16" in err[0] and "fp32" in err[0]
    assert not (tmp_path / "b.png").exists()


def test_bf16_passes_the_check_on_a_cpu_with_amx(monkeypatch):
    monkeypatch.setattr(cf, "cpu_flags", lambda cpuinfo=cf.CPUINFO: frozenset({"amx_bf16"}))
    up = zoo.load("drrn-lite", precision="bf16")
    assert (up.precision, up.backend) == ("bf16", "torch")  # ncnn's exact path is fp32 only


def test_cuda_without_a_gpu_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(zoo.ZooError, match="no CUDA GPU is available. Use --device cpu"):
        zoo.load("upconv7-scale2x", device="cuda")
    src = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    assert main(["upscale", str(src), "-o", str(tmp_path / "b.png"), "--device", "cuda"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CUDA" in err[0] and "--device cpu" in err[0]


def test_torch_bf16_on_cpu_runs_nhwc_and_fp32_stays_nchw(monkeypatch):
    from zoo_core.default_plugins.backend_torch import TorchRunner

    module = torch.nn.Conv2d(3, 4, 3, padding=1)
    fp32 = TorchRunner(torch.nn.Conv2d(3, 4, 3, padding=1), "cpu", "fp32")
    assert fp32.layout == torch.contiguous_format
    bf16 = TorchRunner(module, "cpu", "bf16")
    assert bf16.layout == torch.channels_last and module.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 9, 7)
    out = bf16(x)
    assert out.dtype == torch.float32 and out.shape == (2, 4, 9, 7)
    with torch.no_grad():
        ref = torch.nn.functional.conv2d(x, module.weight.float(), module.bias.float(), padding=1)
    assert torch.allclose(out, ref, atol=0.1)  # bf16 rounding, same maths
