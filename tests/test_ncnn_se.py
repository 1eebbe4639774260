"""The ncnn exporter and runner on image-wide SE blocks (the gate an input blob), crops and PixelShuffle calls.

A toy network implements the SE protocol of zoo_core/infer/image_se.py (`gate`, `stop_here`, `excite`), so
these tests need no plugin: tiled on ncnn = whole on torch, kept and recomputed tile runs agree bit for bit.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo_core.default_plugins.backend_ncnn as backend_ncnn
from zoo_core.architecture import Geometry
from zoo_core.default_plugins.backend_ncnn import OPTIONS, NcnnRunner
from zoo_core.default_plugins.ncnn_export import UnsupportedModule, export_ncnn, trace_layers
from zoo_core.infer.image_se import Reached, prepare_image
from zoo_core.infer.tiler import reference, run_tiled

pytest.importorskip("ncnn", reason="the PyPI ncnn package is not installed")
GEOMETRY = Geometry(scale=1, in_channels=3, out_channels=3, offset=3, context=3)


class ToySE(nn.Module):
    """The image-wide SE protocol at toy size (plain attributes: these tests use one thread)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(channels, 2, 1), nn.Conv2d(2, channels, 1)
        self.gate, self.stop_here = None, False

    def excite(self, mean: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(mean))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stop_here:
            raise Reached(x)
        gate = self.gate if self.gate is not None else self.excite(x.double().mean((2, 3), keepdim=True).float())
        return x * gate


class ToyNet(nn.Module):
    """Three unpadded 3x3 convs with an SE block after the first two, plus the input cropped by 3 (a skip)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.se1, self.b, self.se2 = nn.Conv2d(3, 8, 3), ToySE(8), nn.Conv2d(8, 8, 3), ToySE(8)
        self.c = nn.Conv2d(8, 3, 3)

    def prepare_image(self, tiles, *, tta, features=None):
        return prepare_image(self, tiles, ((1, 1), (1, 2)), tta=tta, family="toy", features=features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.se2(self.b(self.se1(F.leaky_relu(self.a(x), 0.1))))
        return self.c(h) + x[..., 3:-3, 3:-3]


def runner(module: nn.Module) -> NcnnRunner:
    return NcnnRunner(model=export_ncnn(module), threads=1, workers=1, options=OPTIONS["fp32"], module=module)


def test_se_blocks_export_as_gate_inputs_with_extractable_inputs():
    model = export_ncnn(ToyNet().eval())
    assert [(b.module, b.features, b.gate, b.mean) for b in model.se] == [
        ("se1", "se0_in", "se0_gate", "se0_mean"), ("se2", "se1_in", "se1_gate", "se1_mean")]
    lines = model.param.splitlines()
    assert any(line.startswith("Input") and " se1_gate" in line for line in lines)
    assert any(line.startswith("BinaryOp") and "se0_in_s1 se0_gate se1 0=2" in line for line in lines)  # x * gate
    assert any(line.startswith("Pooling") and "se0_in_s0 se0_mean 0=1 4=1" in line for line in lines)  # global mean
    assert any(line.startswith("Crop") and "-23309=2,3,3 -23310=2,-3,-3 -23311=2,-2,-1" in line for line in lines)


@pytest.mark.parametrize("shape", [(1, 3, 12, 12), (2, 3, 9, 14)])
def test_one_tile_takes_its_own_means_like_torch(shape):
    module = ToyNet().eval()
    x = torch.rand(shape)
    with torch.no_grad():
        ref = torch.cat([module(t[None]) for t in x])  # each tile its own means
    out = runner(module)(x)
    assert torch.allclose(out, ref, atol=1e-5), float((out - ref).abs().max())


@pytest.mark.parametrize("tile", [8, 11])
def test_tiles_on_ncnn_equal_the_whole_image_on_torch(tile):
    module = ToyNet().eval()
    x = torch.rand(3, 23, 17)
    whole = reference(lambda t: module(t).detach(), x, GEOMETRY)
    run = runner(module)
    tiled = run_tiled(run, x, GEOMETRY, tile=tile)
    assert torch.allclose(tiled, whole, atol=1e-5), float((tiled - whole).abs().max())
    local = run_tiled(lambda t: run(t), x, GEOMETRY, tile=tile)  # no prepare_image: each tile its own means
    assert float((local - whole).abs().max()) > 1e-4


def test_kept_and_recomputed_tile_runs_agree_bit_for_bit(monkeypatch):
    module = ToyNet().eval()
    x = torch.rand(3, 30, 26)
    kept = run_tiled(runner(module), x, GEOMETRY, tile=8)
    monkeypatch.setattr(backend_ncnn, "KEEP_PIXELS", 0)
    assert torch.equal(run_tiled(runner(module), x, GEOMETRY, tile=8), kept)
    assert module.se1.gate is None and module.se2.gate is None  # the tiler closed the image's gates


def test_tta_is_refused_through_the_module():
    with pytest.raises(Exception, match="toy models do not support --tta"):
        run_tiled(runner(ToyNet().eval()), torch.rand(3, 20, 20), GEOMETRY, tile=8, tta=True)


class Slices(nn.Module):
    """Constant crops on several axes and a functional pixel shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)[:, 4:, 1:-2, 2:]
        return F.pixel_shuffle(h[..., 1:, :-1], 2)


def test_slices_and_pixel_shuffle_match_torch():
    module = Slices().eval()
    x = torch.rand(1, 3, 11, 9)
    with torch.no_grad():
        ref = module(x)
    out = NcnnRunner(model=export_ncnn(module), threads=1, workers=1, options=OPTIONS["fp32"])(x)
    assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-5)


class Lambda(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.conv, self.fn = nn.Conv2d(3, 4, 3), fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.conv(x))


@pytest.mark.parametrize("fn, why", [(lambda h: h[..., ::2, :], "without a step"), (lambda h: h[1:], "batch axis"),
                                     (lambda h: h[..., 0], "constant slices"), (lambda h: h[0:1, :, 1:], "batch axis")])
def test_other_indexing_is_refused(fn, why):
    with pytest.raises(UnsupportedModule, match=why):
        trace_layers(Lambda(fn))


def test_an_se_block_on_the_network_input_is_refused():
    with pytest.raises(UnsupportedModule, match="SE block on the network's input"):
        trace_layers(nn.Sequential(ToySE(3), nn.Conv2d(3, 3, 3)))


@pytest.mark.parametrize("shape", [(1, 3, 16, 16), (1, 3, 9, 13)])  # 9x13: channels 117 floats apart, not aligned
def test_fixed_gates_are_fed_as_given(shape):
    """Gates set on the blocks (as prepare_image sets them) are what ncnn multiplies by."""
    module = ToyNet().eval()
    x = torch.rand(shape)
    with torch.no_grad():
        module.se1.gate, module.se2.gate = torch.rand(1, 8, 1, 1), torch.rand(1, 8, 1, 1)
        ref = module(x)
    out = runner(module)(x)
    assert torch.allclose(out, ref, atol=1e-5), float((out - ref).abs().max())


def test_a_prepare_image_without_the_features_hook_keeps_the_module_off_ncnn():
    import dataclasses

    import zoo
    from zoo_core.api import backend_named

    class OldHook(ToyNet):
        def prepare_image(self, tiles, *, tta):  # the torch-only protocol: ncnn could not gather through it
            return super().prepare_image(tiles, tta=tta)

    ncnn, card = backend_named("ncnn"), zoo.get_card("drrn-lite")
    assert ncnn.supports(dataclasses.replace(card, architecture="toy"), ToyNet().eval(), device="cpu",
                         precision="fp32") is None
    why = ncnn.supports(dataclasses.replace(card, architecture="toy-old"), OldHook().eval(), device="cpu",
                        precision="fp32")
    assert why and "prepare_image takes no features= hook" in why and "\n" not in why


def test_a_failed_gathering_keeps_no_tile_runs_or_gates():
    module = ToyNet().eval()
    run = runner(module)
    gather = run._features

    def fails_on_the_second_tile(index, tile, block):
        if index:
            raise RuntimeError("disk gone")
        return gather(index, tile, block)

    run._features = fails_on_the_second_tile
    with pytest.raises(RuntimeError, match="disk gone"):
        run_tiled(run, torch.rand(3, 20, 20), GEOMETRY, tile=8)
    assert run._kept.runs == {} and module.se1.gate is None
