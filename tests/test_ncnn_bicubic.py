"""Bicubic upsampling exported to ncnn (one Interp layer) against torch, and DRRN-lite on ncnn."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo_core.default_plugins.backend_ncnn import OPTIONS, NcnnRunner
from zoo_core.default_plugins.ncnn_export import UnsupportedModule, export_ncnn, trace_layers
from zoo_core.infer.upscaler import Upscaler
from zoo_core.registry import get_registry

pytest.importorskip("ncnn", reason="the PyPI ncnn package is not installed")


class Bicubic(nn.Module):
    """A conv, then a bicubic upsample of its output (channels read from the conv)."""

    def __init__(self, scale: int, **kw) -> None:
        super().__init__()
        self.conv, self.scale, self.kw = nn.Conv2d(3, 5, 3, padding=1), scale, kw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), scale_factor=self.scale, mode="bicubic", **self.kw)


def run_ncnn(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return NcnnRunner(model=export_ncnn(module), threads=1, workers=1, options=OPTIONS["fp32"])(x)


def test_bicubic_exports_as_one_interp_layer():
    layers = [layer for layer in trace_layers(Bicubic(3)) if layer.type not in ("Input", "Convolution")]
    assert [(layer.type, layer.params) for layer in layers] == [("Interp", {0: 3, 1: 3.0, 2: 3.0})]


@pytest.mark.parametrize("r,shape", [(2, (1, 3, 9, 13)), (2, (2, 3, 1, 1)), (2, (1, 3, 2, 3)), (2, (1, 3, 3, 2)),
                                     (2, (1, 3, 41, 40)), (3, (1, 3, 7, 5)), (3, (1, 3, 1, 2)), (4, (1, 3, 4, 6)),
                                     (4, (1, 3, 3, 1))])
def test_bicubic_export_matches_torch_including_borders(r, shape):
    torch.manual_seed(r)
    module = Bicubic(r).eval()
    x = torch.rand(shape)
    with torch.no_grad():
        ref = module(x)
    out = run_ncnn(module, x)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-5), float((out - ref).abs().max())


@pytest.mark.parametrize("kw", [{"align_corners": True}, {"antialias": True}])
def test_other_bicubic_calls_are_refused(kw):
    with pytest.raises(UnsupportedModule, match="bicubic"):
        trace_layers(Bicubic(2, **kw))
    with pytest.raises(UnsupportedModule):
        trace_layers(Bicubic(1.5))  # type: ignore[arg-type]


def drrn_upscaler(backend: str, units: int, recursions: int, seed: int) -> Upscaler:
    """A DRRN-lite with random (non-zero) weights behind `backend`, as zoo.load wires it."""
    arch = get_registry().architecture("drrn-lite")
    hp = {"scale": 2, "channels": 32, "recursions": recursions, "units": units}
    torch.manual_seed(seed)
    module = arch.create(hp).eval()
    for p in module.parameters():
        nn.init.normal_(p, std=0.05)  # the exit conv starts at zero: the body must count in the output
    runner = get_registry().backend(backend).prepare(module=module, arch_id="drrn-lite", device="cpu",
                                                     precision="fp32", threads=1)
    card = zoo.get_registry().card("drrn-lite")
    return Upscaler(card=card, geometry=arch.geometry(hp), runner=runner, backend=backend, device="cpu",
                    precision="fp32", tile_size=None, batch_size=2)


@pytest.mark.slow
@pytest.mark.parametrize("units,recursions", [(1, 7), (7, 1), (2, 2)])
def test_drrn_lite_on_ncnn_matches_torch_whole_and_tiled(units, recursions):
    fast, ref = drrn_upscaler("ncnn", units, recursions, 0), drrn_upscaler("torch", units, recursions, 0)
    for h, w in [(37, 50), (8, 5)]:
        x = torch.rand(3, h, w, generator=torch.Generator().manual_seed(h))
        whole = ref.upscale_tensor(x, tile_size=4096)
        assert float(whole.std()) > 1e-2  # not two flat images
        ours = fast.upscale_tensor(x, tile_size=4096)
        tiled = fast.upscale_tensor(x, tile_size=16)
        assert ours.shape == (3, 2 * h, 2 * w)
        assert torch.allclose(ours, whole, atol=1e-5), float((ours - whole).abs().max())
        assert torch.allclose(tiled, whole, atol=1e-5), float((tiled - whole).abs().max())


@pytest.mark.slow
def test_drrn_lite_defaults_to_ncnn_within_one_level():
    fast, ref = zoo.load("drrn-lite"), zoo.load("drrn-lite", backend="torch")
    assert (fast.backend, ref.backend) == ("ncnn", "torch")
    img = (np.random.default_rng(3).random((30, 41, 3)) * 255).astype(np.uint8)
    a, b = fast.upscale(img), ref.upscale(img)
    assert a.shape == (60, 82, 3) and int(np.abs(a.astype(int) - b).max()) <= 1


class Dense(nn.Module):
    """A dense block's wiring on RGB input: a conv reads the concatenation of everything before it."""

    def __init__(self, dim: int = 1, width: int = 8) -> None:
        super().__init__()
        self.e = nn.Conv2d(3, width, 3, padding=1) if width != 3 else nn.Identity()
        self.a, self.b = nn.Conv2d(width, 4, 3, padding=1), nn.Conv2d(width + 4, 3, 3, padding=1)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.e(x)
        return self.b(torch.cat([h, F.leaky_relu(self.a(h), 0.2)], self.dim)) * 0.2 + x


def test_channel_concat_exports_exactly_and_rrdbnet_takes_ncnn():
    torch.manual_seed(4)
    module = Dense().eval()
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        ref = module(x)
    assert torch.allclose(run_ncnn(module, x), ref, atol=1e-5)
    with pytest.raises(UnsupportedModule, match="channel dimension"):
        trace_layers(Dense(dim=2))
    with pytest.raises(UnsupportedModule, match="multiple of 4"):  # ncnn mixes up 3 + 4 channels (0.35 off)
        trace_layers(Dense(width=3))
    rrdb = get_registry().architecture("rrdbnet").create().eval()  # small default hyperparameters, random
    x = torch.rand(1, 3, 40, 43)  # above 2 x its offset: the net drops 17 px per side after its trunk
    with torch.no_grad():
        ref = rrdb(x)
    out = run_ncnn(rrdb, x)
    assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-5), float((out - ref).abs().max())
    card = zoo.get_card("realesrgan-x4plus-anime")  # an rrdbnet card: supports() decides on the module itself
    assert get_registry().backend("ncnn").supports(card, rrdb, device="cpu", precision="fp32") is None
