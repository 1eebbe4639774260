"""SPAN files through `zoo import`, against a reference written here from the paper's description and the public
layout: Conv3XC in its training form (1x1 → 3x3 → 1x1 on the zero-padded input, plus a 1x1 skip), SiLU, the
sigmoid - 0.5 attention, conv_cat over (conv_1 out, conv_2 out, block 1 out, block 6's first activation).

zoo fuses each Conv3XC into one 3x3 conv (what the authors' eval mode does). Fused and training forms agree
wherever the 3x3 conv does not read the zero padding, so the reference is compared on the image edge-padded by
zoo's context beyond what a tile reads, and zoo's output equals it away from that padding.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

import zoo

pytestmark = pytest.mark.slow  # builds, imports and runs models on two engines
MEAN = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    zoo.reset_registry()
    yield
    zoo.reset_registry()


class Conv3XC(nn.Module):
    """Training form: sk (1x1) on x plus conv = 1x1 (c_in→g·c_in), 3x3 valid, 1x1 on x zero-padded by one."""

    def __init__(self, cin: int, cout: int, gain: int = 2, eval_conv: bool = True) -> None:
        super().__init__()
        self.sk = nn.Conv2d(cin, cout, 1)
        self.conv = nn.Sequential(nn.Conv2d(cin, cin * gain, 1), nn.Conv2d(cin * gain, cout * gain, 3),
                                  nn.Conv2d(cout * gain, cout, 1))
        if eval_conv:  # saved by the authors' code; stale until an eval forward: zoo must not trust it
            self.eval_conv = nn.Conv2d(cin, cout, 3, padding=1)
            nn.init.normal_(self.eval_conv.weight)

    def forward(self, x):
        return self.conv(F.pad(x, (1, 1, 1, 1))) + self.sk(x)


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.c1_r, self.c2_r, self.c3_r = Conv3XC(c, c), Conv3XC(c, c), Conv3XC(c, c)

    def forward(self, x):
        out1 = F.silu(self.c1_r(x))
        out3 = self.c3_r(F.silu(self.c2_r(out1)))
        return (out3 + x) * (torch.sigmoid(out3) - 0.5), out1


class Span(nn.Module):
    def __init__(self, c: int, scale: int, norm: bool) -> None:
        super().__init__()
        self.conv_1 = Conv3XC(3, c)
        for i in range(1, 7):
            setattr(self, f"block_{i}", Block(c))
        self.conv_2 = Conv3XC(c, c)
        self.conv_cat = nn.Conv2d(4 * c, c, 1)
        self.upsampler = nn.Sequential(nn.Conv2d(c, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
        self.norm = norm
        if not norm:
            self.register_buffer("no_norm", torch.zeros(1))

    def forward(self, x):
        if self.norm:
            x = (x - MEAN) * 255.0
        f = self.conv_1(x)
        b1, _ = self.block_1(f)
        out = b1
        for i in range(2, 6):
            out, _ = getattr(self, f"block_{i}")(out)
        b6, b5_2 = self.block_6(out)
        return self.upsampler(self.conv_cat(torch.cat([f, self.conv_2(b6), b1, b5_2], 1)))


def made(c: int, scale: int, norm: bool, seed: int) -> Span:
    torch.manual_seed(seed)
    model = Span(c, scale, norm).eval()
    with torch.no_grad():  # small weights keep 255-scaled inputs from saturating every gate
        for p in model.parameters():
            p.mul_(0.05 if norm else 0.5)
    return model


@pytest.mark.parametrize("c, scale, norm, suffix", [(16, 4, True, ".pth"), (12, 2, False, ".safetensors")])
def test_span_import_matches_reference_tiles_and_ncnn(tmp_path, c, scale, norm, suffix):
    ref = made(c, scale, norm, seed=scale)
    path = tmp_path / f"span{suffix}"
    state = {k: v.contiguous() for k, v in ref.state_dict().items()}
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    card = zoo.import_model(path, name=f"span-{scale}x").card
    assert card.hyperparameters == {"feature_channels": c, "scale": scale, "norm": norm} and card.scale == scale
    x = torch.rand(3, 20, 24, generator=torch.Generator().manual_seed(0))
    up = zoo.load(card.name, backend="torch")
    ctx = up.geometry.context
    with torch.no_grad():
        pad = ctx + 2  # the training form reads zeros one pixel beyond; zoo's tiles never do
        want = ref(F.pad(x[None], (pad,) * 4, mode="replicate"))[0, :, pad * scale:-pad * scale, pad * scale:-pad * scale]
        with torch.backends.mkldnn.flags(enabled=False):
            whole = up.upscale_tensor(x, tile_size=4096).numpy()
            tiled = up.upscale_tensor(x, tile_size=8).numpy()
    assert whole.shape == (3, 20 * scale, 24 * scale)
    inner = (slice(None), slice(2 * scale, -2 * scale), slice(2 * scale, -2 * scale))  # both read edge copies here
    np.testing.assert_allclose(whole[inner], want.numpy()[inner], atol=1e-3 if norm else 1e-4, rtol=1e-4)
    assert np.array_equal(tiled, whole)
    fast = zoo.load(card.name)
    assert fast.backend == "ncnn"
    got = fast.upscale_tensor(x).numpy()
    a, b = (np.round(np.clip(v, 0, 1) * 255) for v in (got, whole))
    assert np.abs(a - b).max() <= 1 and (a == b).mean() >= 0.999


def test_span_with_only_eval_conv_is_taken_as_saved(tmp_path):
    """A file holding only the fused eval_conv (training branches dropped) runs those weights as they are."""
    ref = made(8, 2, False, seed=7)
    state = {k: v.detach().clone() for k, v in ref.state_dict().items() if ".sk." not in k and ".conv." not in k}
    path = tmp_path / "fused.pth"
    torch.save(state, path)
    card = zoo.import_model(path, name="span-fused").card
    module = zoo.build_model(card)
    assert torch.equal(module.conv_1.weight, ref.conv_1.eval_conv.weight.detach())
    assert torch.equal(module.block_6.c3_r.bias, ref.block_6.c3_r.eval_conv.bias.detach())
