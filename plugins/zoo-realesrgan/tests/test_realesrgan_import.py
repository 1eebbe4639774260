"""Community ESRGAN and Compact files through `zoo import`: random models built by references written here from the
public layout descriptions (the original ESRGAN repository's `model.N` sequential, its 2019 and BasicSR renamings,
Real-ESRGAN's SRVGGNetCompact), saved as .pth (zip and legacy) and .safetensors, imported, then run by zoo:
output equal to the reference run on the image edge-padded by the context as zoo pads it (so: equal inside any
image; at the border zoo's edge padding replaces the reference's zeros), tiled equal to whole, and the default
ncnn path within one 8-bit level of torch.
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


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    zoo.reset_registry()
    yield
    zoo.reset_registry()


def conv(cin: int, cout: int, k: int = 3, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, 1, k // 2, bias=bias)


class DenseBlock(nn.Module):
    """ESRGAN's ResidualDenseBlock_5C: conv_block = Sequential(conv, LeakyReLU 0.2); conv5 without activation."""

    def __init__(self, nf: int, gc: int, plus: bool) -> None:
        super().__init__()
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Sequential(conv(nf + (i - 1) * gc, gc), nn.LeakyReLU(0.2)))
        self.conv5 = nn.Sequential(conv(nf + 4 * gc, nf))
        self.conv1x1 = conv(nf, gc, 1, bias=False) if plus else None

    def forward(self, x):
        x1 = self.conv1(x)
        x2 = self.conv2(torch.cat((x, x1), 1))
        if self.conv1x1 is not None:
            x2 = x2 + self.conv1x1(x)
        x3 = self.conv3(torch.cat((x, x1, x2), 1))
        x4 = self.conv4(torch.cat((x, x1, x2, x3), 1))
        if self.conv1x1 is not None:
            x4 = x4 + x2
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf: int, gc: int, plus: bool) -> None:
        super().__init__()
        self.RDB1, self.RDB2, self.RDB3 = (DenseBlock(nf, gc, plus) for _ in range(3))

    def forward(self, x):
        return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x


class Shortcut(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        self.sub = nn.Sequential(*modules)

    def forward(self, x):
        return x + self.sub(x)


class OldESRGAN(nn.Module):
    """The original repository's RRDBNet: one flat `model` sequential; 2x nearest + conv + act per upsampling."""

    def __init__(self, nf: int, nb: int, gc: int, ups: int, unshuffle: int = 1, plus: bool = False) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        layers = [conv(3 * unshuffle ** 2, nf), Shortcut(*(RRDB(nf, gc, plus) for _ in range(nb)), conv(nf, nf))]
        for _ in range(ups):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), conv(nf, nf), nn.LeakyReLU(0.2)]
        layers += [conv(nf, nf), nn.LeakyReLU(0.2), conv(nf, 3)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x)


def renamed(state: dict, layout: str, ups: int) -> dict:
    """The old layout's state dict in the 2019 (RRDB_trunk…) or BasicSR (body…, zoo's own) names."""
    if layout == "old":
        return state
    trunk = ("RRDB_trunk", "RDB") if layout == "2019" else ("body", "rdb")
    tops = {"model.0": "conv_first", f"model.{3 * ups + 2}": "HRconv" if layout == "2019" else "conv_hr",
            f"model.{3 * ups + 4}": "conv_last"}
    tops.update({f"model.{3 * j}": (f"upconv{j}" if layout == "2019" else f"conv_up{j}") for j in range(1, ups + 1)})
    nb = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("model.1.sub.") and ".RDB" in k)
    tops[f"model.1.sub.{nb}"] = "trunk_conv" if layout == "2019" else "conv_body"
    out = {}
    for key, value in state.items():
        head, _, param = key.rpartition(".")
        if head in tops:
            out[f"{tops[head]}.{param}"] = value
            continue
        parts = key.split(".")  # model.1.sub.i.RDBk.convj[.0].param
        block, rdb, name = parts[3], parts[4][3:], parts[5]
        out[f"{trunk[0]}.{block}.{trunk[1]}{rdb}.{name}.{param}"] = value
    return out


class Compact(nn.Module):
    """Real-ESRGAN's SRVGGNetCompact: body = conv, act, (conv, act)×num_conv, conv to 3·r²; PixelShuffle + nearest."""

    def __init__(self, nf: int, num_conv: int, up: int, act: str) -> None:
        super().__init__()
        make = {"prelu": lambda: nn.PReLU(nf), "relu": lambda: nn.ReLU(), "leakyrelu": lambda: nn.LeakyReLU(0.1)}[act]
        layers = [conv(3, nf), make()]
        for _ in range(num_conv):
            layers += [conv(nf, nf), make()]
        self.body = nn.ModuleList(layers + [conv(nf, 3 * up * up)])
        self.up = up

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        return F.pixel_shuffle(out, self.up) + F.interpolate(x, scale_factor=self.up, mode="nearest")


def save(model: nn.Module, path, state: dict | None = None):
    """The state dict as .pth (zip or, for *.legacy.pth, torch's pre-1.6 format) or .safetensors."""
    state = {k: v.detach().clone().contiguous() for k, v in (state or model.state_dict()).items()}
    if str(path).endswith(".safetensors"):
        save_file(state, str(path))
    else:
        torch.save({"params_ema": state}, path, _use_new_zipfile_serialization=not str(path).endswith(".legacy.pth"))
    return path


def image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A smooth-ish random RGB picture in [0, 1] (a random model's output stays in range)."""
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(1, 3, h // 4 + 2, w // 4 + 2, generator=g), size=(h, w), mode="bilinear")[0]


def check(reference: nn.Module, path, name: str, *, ncnn_expected: bool = True) -> zoo.Card:
    """Import, then: reference equality inside the image, tiled == whole (torch), ncnn parity on the default path."""
    card = zoo.import_model(path, name=name).card
    assert card.name in {c.name for c in zoo.list_models()}
    x = image(16, 20)
    up = zoo.load(name, backend="torch")
    s, ctx = up.scale, up.geometry.context
    with torch.no_grad():
        ref = reference.eval()(F.pad(x[None], (ctx,) * 4, mode="replicate"))[0, :, ctx * s:-ctx * s, ctx * s:-ctx * s]
        with torch.backends.mkldnn.flags(enabled=False):
            whole = up.upscale_tensor(x, tile_size=4096).numpy()
            tiled = up.upscale_tensor(x, tile_size=8 * up.geometry.size_multiple).numpy()
    assert whole.shape == ref.shape == (3, 16 * s, 20 * s)
    np.testing.assert_allclose(whole, ref.numpy(), atol=2e-5, rtol=0)
    assert np.array_equal(tiled, whole)
    fast = zoo.load(name)
    assert (fast.backend == "ncnn") == ncnn_expected, fast.backend
    got = fast.upscale_tensor(x).numpy()
    a, b = (np.round(np.clip(v, 0, 1) * 255) for v in (got, whole))
    assert np.abs(got - whole).max() < 1e-4 and np.abs(a - b).max() <= 1 and (a == b).mean() >= 0.999
    return card


@pytest.mark.parametrize("layout", ["old", "2019", "basicsr"])
def test_esrgan_4x_each_layout(tmp_path, layout):
    torch.manual_seed(1)
    ref = OldESRGAN(nf=16, nb=1, gc=8, ups=2)
    path = save(ref, tmp_path / f"esrgan-{layout}.pth", renamed(ref.state_dict(), layout, 2))
    card = check(ref, path, f"esrgan-{layout}")
    assert card.hyperparameters == {"num_feat": 16, "num_block": 1, "num_grow_ch": 8, "scale": 4, "unshuffle": 1,
                                    "plus": False}
    assert f"layout-esrgan-{layout}" in card.tags


@pytest.mark.parametrize("ups, unshuffle, scale, suffix", [
    (0, 1, 1, ".pth"), (1, 1, 2, ".legacy.pth"), (3, 1, 8, ".safetensors"),  # old ESRGAN: 1x, 2x, 8x by upsamplings
    (2, 2, 2, ".pth"), (2, 4, 1, ".safetensors"),  # Real-ESRGAN x2plus / 1x: a pixel-unshuffled input
])
def test_esrgan_scales_and_unshuffle(tmp_path, ups, unshuffle, scale, suffix):
    torch.manual_seed(2)
    ref = OldESRGAN(nf=12, nb=1, gc=8, ups=ups, unshuffle=unshuffle)
    state = renamed(ref.state_dict(), "basicsr" if unshuffle > 1 else "old", ups)
    card = check(ref, save(ref, tmp_path / f"m{suffix}", state), f"esrgan-{scale}x-u{unshuffle}")
    assert (card.scale, card.hyperparameters["unshuffle"]) == (scale, unshuffle)


def test_esrgan_plus_wider_and_deeper(tmp_path):
    torch.manual_seed(3)
    ref = OldESRGAN(nf=12, nb=2, gc=8, ups=2, plus=True)
    card = check(ref, save(ref, tmp_path / "plus.pth"), "esrgan-plus")
    assert card.hyperparameters["plus"] is True and card.hyperparameters["num_block"] == 2


@pytest.mark.parametrize("act, up, suffix", [("prelu", 4, ".pth"), ("prelu", 2, ".safetensors"),
                                             ("leakyrelu", 1, ".legacy.pth")])
def test_compact(tmp_path, act, up, suffix):
    torch.manual_seed(4)
    ref = Compact(nf=16, num_conv=5, up=up, act=act)
    card = check(ref, save(ref, tmp_path / f"compact{suffix}"), f"compact-{act}-{up}x")
    assert card.hyperparameters == {"num_feat": 16, "num_conv": 5, "scale": up, "act": act}


def test_compact_relu_is_told_apart_only_by_the_card(tmp_path):
    """Weightless activations cannot say ReLU from LeakyReLU: the import says so; the card's act then decides."""
    torch.manual_seed(5)
    ref = Compact(nf=8, num_conv=2, up=2, act="relu")
    done = zoo.import_model(save(ref, tmp_path / "relu.pth"), name="relu-compact")
    assert done.notes and "LeakyReLU" in done.notes[0] and "cannot be told apart" in done.card.upstream["description"]
    card_file = tmp_path / "home" / "imported" / "relu-compact.yaml"
    card_file.write_text(card_file.read_text().replace("act: leakyrelu", "act: relu"))
    zoo.reset_registry()
    x = image(24, 24)
    got = zoo.load("relu-compact", backend="torch").upscale_tensor(x).numpy()[:, 10:-10, 10:-10]  # 2x, 4 px context
    with torch.no_grad():
        np.testing.assert_allclose(got, ref(x[None])[0].numpy()[:, 10:-10, 10:-10], atol=2e-5)
