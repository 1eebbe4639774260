"""The ncnn backend: exporter round trips against torch, what it refuses, and zoo.load's backend choice."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo_core.api import pick_backend
from zoo_core.default_plugins.backend_ncnn import OPTIONS, NcnnRunner
from zoo_core.default_plugins.ncnn_export import TAG_FP16, UnsupportedModule, export_ncnn, trace_layers

pytest.importorskip("ncnn", reason="the PyPI ncnn package is not installed")


def run_ncnn(module: nn.Module, x: torch.Tensor, *, workers: int = 1, weight_dtype: str = "fp32") -> torch.Tensor:
    model = export_ncnn(module, weight_dtype=weight_dtype)
    return NcnnRunner(model=model, threads=2, workers=workers, options=OPTIONS["fp32"])(x)


class TinyUpConv(nn.Sequential):
    """UpConv_7's shape at toy width: unpadded convs + LeakyReLU, then a stride-2 deconv without bias."""

    def __init__(self) -> None:
        super().__init__(nn.Conv2d(3, 8, 3), nn.LeakyReLU(0.1), nn.Conv2d(8, 8, 3), nn.LeakyReLU(0.1),
                         nn.ConvTranspose2d(8, 3, 4, 2, 3, bias=False))


class TinyEspcn(nn.Module):
    """Same-padded conv, SELU, selection unit (x · sigmoid(conv x)), PixelShuffle, clamp."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.gate = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 1)
        self.up, self.shuffle = nn.Conv2d(8, 12, 3, padding=1), nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.selu(self.a(x))
        h = h * torch.sigmoid(self.gate(h))
        return torch.clamp(self.shuffle(self.up(h)), 0, 1)


class Odd(nn.Module):
    """Grouped/dilated/strided/rectangular convs, a deconv with output padding, a residual and scalars."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, (3, 1), padding=(1, 0))
        self.b = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4)
        self.c = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.d = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x))
        h = F.leaky_relu(self.b(h), 0.2) + h
        return self.d(self.c(h)) * 0.5 + 0.25


class TinyCompact(nn.Module):
    """Real-ESRGAN's SRVGGNetCompact at toy width: convs with per-channel PReLU, PixelShuffle, nearest skip."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.PReLU(8), nn.Conv2d(8, 27, 3, padding=1))
        self.shuffle = nn.PixelShuffle(3)
        nn.init.uniform_(self.body[1].weight, -0.5, 0.5)  # distinct slopes: their channel order is checked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.body(x)) + F.interpolate(x, scale_factor=3, mode="nearest")


@pytest.mark.slow
@pytest.mark.parametrize("make,shape", [(TinyUpConv, (1, 3, 20, 17)), (TinyEspcn, (2, 3, 11, 9)), (Odd, (1, 3, 12, 10)),
                                        (TinyCompact, (1, 3, 9, 13))])
def test_export_matches_torch(make, shape):
    torch.manual_seed(0)
    module = make().eval()
    x = torch.rand(shape)
    with torch.no_grad():
        ref = module(x)
    out = run_ncnn(module, x)
    assert out.shape == ref.shape
    assert float(ref.std()) > 1e-3  # the comparison is not between two constant images
    assert torch.allclose(out, ref, atol=2e-5), float((out - ref).abs().max())


def test_param_text_fuses_activations_and_splits_shared_blobs():
    param = export_ncnn(TinyEspcn().eval()).param
    lines = param.splitlines()
    assert lines[0] == "7767517"
    n_layers, n_blobs = map(int, lines[1].split())
    assert n_layers == len(lines) - 2
    assert any(line.startswith("Split") for line in lines)  # h feeds both the gate and the product
    leaky = export_ncnn(TinyUpConv().eval()).param
    assert "9=2" in leaky and "-23310=1,1.000000e-01" in leaky and "ReLU " not in leaky


@pytest.mark.slow
def test_fp16_weight_storage_is_tagged_and_close():
    torch.manual_seed(1)
    module = TinyUpConv().eval()
    fp32, fp16 = export_ncnn(module).bin, export_ncnn(module, weight_dtype="fp16").bin
    assert struct.unpack("<I", fp16[:4])[0] == TAG_FP16 and struct.unpack("<I", fp32[:4])[0] == 0
    assert len(fp16) < len(fp32)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        ref = module(x)
    assert torch.allclose(run_ncnn(module, x, weight_dtype="fp16"), ref, atol=2e-3)


@pytest.mark.slow
def test_concurrent_batch_equals_sequential():
    torch.manual_seed(2)
    module = TinyUpConv().eval()
    x = torch.rand(3, 3, 18, 18)
    assert torch.equal(run_ncnn(module, x, workers=2), run_ncnn(module, x, workers=1))


class Interp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), scale_factor=2, mode="bilinear")


@pytest.mark.parametrize("module", [
    Interp(), nn.Sequential(nn.Conv2d(3, 3, 3), nn.BatchNorm2d(3)), nn.Conv2d(3, 3, 3, padding=1, padding_mode="reflect"),
    nn.Identity(),
])
def test_unsupported_modules_are_refused(module):
    with pytest.raises(UnsupportedModule):
        trace_layers(module)


def test_supports_only_exportable_cpu_fp32():
    backend = zoo.get_registry().backend("ncnn")
    assert backend.supports(arch_id="upconv7", device="cpu", precision="fp32")
    assert not backend.supports(arch_id="upconv7", device="cuda", precision="fp32")
    assert not backend.supports(arch_id="upconv7", device="cpu", precision="bf16")
    assert backend.supports(arch_id="drrn-lite", device="cpu", precision="fp32")  # bicubic as a fixed conv
    assert pick_backend("drrn-lite", "cpu", "fp32", None).name == "ncnn"
    assert pick_backend("upconv7", "cpu", "bf16", None).name == "torch"
    with pytest.raises(zoo.ZooError, match="cannot run 'upconv7' on cpu in bf16"):
        pick_backend("upconv7", "cpu", "bf16", "ncnn")


@pytest.mark.slow
def test_load_defaults_to_ncnn_on_cpu_and_torch_can_be_forced():
    fast = zoo.load("upconv7-scale2x")
    ref = zoo.load("upconv7-scale2x", backend="torch")
    assert (fast.backend, ref.backend) == ("ncnn", "torch")
    assert fast.tile_size and fast.batch_size >= 1 and ref.tile_size is None
    img = (np.random.default_rng(0).random((40, 33, 3)) * 255).astype(np.uint8)
    a, b = fast.upscale(img), ref.upscale(img)
    assert a.shape == (80, 66, 3)
    assert int(np.abs(a.astype(int) - b).max()) <= 1  # within one 8-bit level of torch fp32
    explicit = zoo.load("upconv7-scale2x", backend="ncnn", tile_size=16, batch_size=3)
    c = explicit.upscale(img)  # Winograd tiles shift with the tile grid: float rounding only
    assert int(np.abs(c.astype(int) - a).max()) <= 1 and np.mean(c != a) < 1e-3


@pytest.mark.slow
def test_auto_picked_backend_that_fails_to_prepare_falls_back_to_torch(install_plugin):
    install_plugin("zoo-aaa-broken", "zoo_aaa_broken", '''
        import zoo

        class Broken:
            name = "aaa-broken"
            description = "claims every default, then refuses the card"

            def supports(self, *, arch_id, device, precision):
                return True

            def default_for(self, *, arch_id, device, precision):
                return True

            def prepare(self, *, module, arch_id, device, precision, threads):
                raise zoo.ZooError("cannot export this card")

        @zoo.hookimpl
        def register_backends(register):
            register(Broken())
    ''')
    assert zoo.load("upconv7-scale2x").backend == "torch"  # sorted first, failed, so the reference runs
    with pytest.raises(zoo.ZooError, match="cannot export"):
        zoo.load("upconv7-scale2x", backend="aaa-broken")  # asked for by name: the error is shown
