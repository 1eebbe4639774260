"""The ncnn backend: exporter round trips against torch, what it refuses, and zoo.load's backend choice."""
from __future__ import annotations

import dataclasses
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo_core.api import backend_named, build_model, pick_backends
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


def test_supports_says_why_per_card():
    backend = backend_named("ncnn")
    card = zoo.get_card("drrn-lite")  # weights shipped in its plugin: no rebuild needed
    module = build_model(card)
    assert backend.supports(card, module, device="cpu", precision="fp32") is None  # bicubic as an ncnn Interp
    assert "CPU only" in backend.supports(card, module, device="cuda", precision="fp32")
    assert "fp32 only" in backend.supports(card, module, device="cpu", precision="bf16")
    other = dataclasses.replace(card, architecture="test-interp")  # decided on the module, not on a name lookup
    assert backend.supports(other, nn.Sequential(Interp()), device="cpu", precision="fp32").startswith(
        "the ncnn exporter cannot express 'test-interp'")
    assert [b.name for b in pick_backends(card, module, "cpu", "fp32", None)] == ["ncnn", "torch"]
    assert [b.name for b in pick_backends(card, module, "cpu", "bf16", None)] == ["torch"]
    with pytest.raises(zoo.ZooError, match="Backend 'ncnn' cannot run 'drrn-lite' on cpu in bf16: ncnn runs fp32 only"):
        pick_backends(card, module, "cpu", "bf16", "ncnn")


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


BACKEND_PLUGIN = '''
    import zoo
    from zoo_core.interfaces import Backend

    class Picky(Backend):
        name = "aaa-picky"
        description = "default-eligible everywhere, but refuses every card, saying why"
        prepared = 0

        def supports(self, card, module, *, device, precision):
            return f"it never runs {card.name}"

        def default_for(self, card, *, device, precision):
            return True

        def prepare(self, *, module, arch_id, device, precision, threads):
            Picky.prepared += 1
            raise AssertionError("prepare() of a backend that does not support the card")

    class Broken(Picky):
        name = "aab-broken"
        description = "says it supports every card, then fails to prepare it"

        def supports(self, card, module, *, device, precision):
            return None

        def prepare(self, *, module, arch_id, device, precision, threads):
            raise zoo.ZooError("cannot export this card")

    @zoo.hookimpl
    def register_backends(register):
        register(Picky())
        register(Broken())
'''


def test_auto_pick_asks_supports_and_says_when_a_backend_fails(install_plugin, caplog):
    install_plugin("zoo-aaa-backends", "zoo_aaa_backends", BACKEND_PLUGIN)
    with caplog.at_level("WARNING", logger="zoo"):
        up = zoo.load("example-tiny-nearest")
    assert up.backend == "ncnn"  # sorted first: Picky said no (never prepared), Broken failed, ncnn ran it
    assert "Backend 'aab-broken' failed to prepare 'example-tiny-nearest' (cannot export this card); using 'ncnn'" \
        in caplog.text and "aaa-picky" not in caplog.text
    with pytest.raises(zoo.ZooError, match="Backend 'aaa-picky' cannot run 'example-tiny-nearest' on cpu in fp32: "
                       "it never runs example-tiny-nearest"):
        zoo.load("example-tiny-nearest", backend="aaa-picky")  # asked for by name: the reason is the error
    with pytest.raises(zoo.ZooError, match="cannot export"):
        zoo.load("example-tiny-nearest", backend="aab-broken")
    import zoo_aaa_backends

    assert zoo_aaa_backends.Picky.prepared == 0
