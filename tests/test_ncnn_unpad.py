"""ncnn_unpad: same-padded convolutions made valid on the ncnn graph, exact inside the tile's context."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo_core.default_plugins.backend_ncnn import OPTIONS, NcnnRunner
from zoo_core.default_plugins.ncnn_export import export_ncnn

pytest.importorskip("ncnn", reason="the PyPI ncnn package is not installed")


class Chain(nn.Sequential):
    """ESPCN_7's shape at toy width: same-padded convs, SELU, PixelShuffle, clamp."""

    def __init__(self) -> None:
        super().__init__(nn.Conv2d(3, 8, 3, padding=1), nn.SELU(), nn.Conv2d(8, 12, 3, padding=1), nn.PixelShuffle(2),
                         nn.Hardtanh(0, 1))


class Dense(nn.Module):
    """RRDBNet's shape at toy width: a dense block (concatenations), scaled residuals, a symmetric crop, nearest 2x."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.a, self.b = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1), nn.Conv2d(12, 8, 3, padding=1)
        self.up, self.last = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.first(x)
        a = F.leaky_relu(self.a(f), 0.2)
        f = self.b(torch.cat([f, a], 1)) * 0.2 + f
        f = f[..., 3:-3, 3:-3]  # the module's own trim: 3 px of which the valid graph already dropped 3
        return self.last(F.leaky_relu(self.up(F.interpolate(f, scale_factor=2, mode="nearest")), 0.2))


class Resize(nn.Module):
    """A bicubic resize that names its ncnn layer, as the srvgg plugin's 1/2 downscale does."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.factor, mode="bicubic", align_corners=False)

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        return "Interp", {0: 3, 1: self.factor, 2: self.factor}


class GlobalMean(nn.Module):
    """A plugin's own layer: a per-channel mean that broadcasts against a map (it must not be centre-cropped)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3), keepdim=True)

    def ncnn_layer(self) -> tuple[str, dict[int, object]]:
        return "Pooling", {0: 1, 4: 1}


class Gated(nn.Module):
    """A same-padded conv's map times the input's global mean."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.mean = nn.Conv2d(3, 3, 3, padding=1), GlobalMean()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.mean(x)


class Bicubic(nn.Sequential):
    """Same-padded convs feeding a bicubic resize (animevideov3 2x: its 4x net, then a bicubic 1/2 inside the file)."""

    def __init__(self, factor: float, convs: int = 1) -> None:
        super().__init__(*(nn.Conv2d(3, 3, 3, padding=1) for _ in range(convs)), Resize(factor))


def _run(module: nn.Module, x: torch.Tensor, *, valid: bool) -> tuple[torch.Tensor, int]:
    model = export_ncnn(module.eval(), valid=valid)
    return NcnnRunner(model=model, threads=1, workers=1, options=OPTIONS["fp32"])(x), model.trim


# Bicubic 1/2 after 2 px: 1 px, and 1 more whose taps the smaller map clamps
@pytest.mark.parametrize("module, trim", [(Chain(), 4), (Dense(), 2), (Bicubic(0.5, convs=2), 2)])
def test_the_valid_graph_equals_the_padded_one_inside_the_ring_it_drops(module, trim):
    torch.manual_seed(0)
    x = torch.rand(1, 3, 24, 20)
    with torch.no_grad():
        want = module.eval()(x)
    got, lost = _run(module, x, valid=True)
    assert lost == trim and got.shape == want.shape
    inner = (..., slice(trim, -trim), slice(trim, -trim))
    assert torch.allclose(got[inner], want[inner], atol=1e-5)
    assert not got[..., :trim, :].any() and not got[..., -trim:].any()  # the ring: zeros the tiler drops
    param = export_ncnn(module, valid=True).param
    assert " 4=1 " not in param and " 4=0 " in param  # the convolutions lost their padding


def test_a_bicubic_three_quarters_of_a_four_aligned_crop_equals_the_padded_graph():
    torch.manual_seed(1)
    x, module = torch.rand(1, 3, 28, 24), Bicubic(0.75, convs=4).eval()  # 4 px dropped: 3 at 3/4, and 1 clamped
    got, lost = _run(module, x, valid=True)
    want, _ = _run(module, x, valid=False)  # the padded ncnn graph: torch's 3/4 positions differ by ~1e-4
    inner = (..., slice(lost, -lost), slice(lost, -lost))
    assert lost == 4 and torch.allclose(got[inner], want[inner], atol=1e-5)
    assert export_ncnn(Bicubic(0.75, convs=3).eval(), valid=True).trim == 0  # 3 px: off the 4-px period


def test_a_dense_graph_gets_centre_crops_where_its_branches_meet():
    param = export_ncnn(Dense().eval(), valid=True).param
    crops = [line for line in param.splitlines() if line.startswith("Crop")]
    # f meets a in the concat (1 px) and b's output in the residual (2 px); the module's own 3-px trim is left
    # nothing to crop (the valid graph dropped those 3 px already): starts 0, ends "to the end"
    assert len(crops) == 3 and sum("unpad_" in c for c in crops) == 2
    assert "-23309=2,0,0 -23310=2,2147483647,2147483647" in crops[-1]


# a bicubic upscale of a cropped map, a bicubic 1/2 of a map cropped by an odd count (off its grid), a map meeting
# a blob that may be no map (a per-channel mean), a strided conv
@pytest.mark.parametrize("module", [Bicubic(2.0), Bicubic(0.5, convs=1), Gated(),
                                    nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 3, 3, 2))])
def test_a_layer_whose_meaning_would_change_leaves_the_graph_as_exported(module):
    assert export_ncnn(module.eval(), valid=True).param == export_ncnn(module).param
    assert export_ncnn(module, valid=True).trim == 0


def _module_cards() -> list[zoo.Card]:
    seen, cards = set(), []
    for card in zoo.list_models():
        key = (card.architecture, repr(sorted(card.hyperparameters.items())))
        if key not in seen:
            seen.add(key)
            cards.append(card)
    return cards


@pytest.mark.slow
@pytest.mark.parametrize("card", _module_cards(), ids=lambda c: c.name)
def test_every_cards_dropped_ring_lies_in_the_context_the_tiler_crops(card):
    arch = zoo.get_registry().architecture(card.architecture)
    geo = arch.geometry(card.hyperparameters)
    try:
        model = export_ncnn(arch.create(card.hyperparameters).eval(), valid=True)
    except zoo.ZooError as err:
        pytest.skip(f"'{card.name}' does not export to ncnn ({err})")
    assert 0 <= model.trim <= (geo.context - geo.offset) * geo.scale
