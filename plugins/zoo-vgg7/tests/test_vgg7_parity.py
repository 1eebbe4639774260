"""vgg7-scale2x against an independent NumPy (float64) implementation of waifu2x's JSON model.

The reference reads the weight lists straight from waifu2x's JSON (not through zoo's converter or torch) and
follows waifu2x's reconstruct.scale: 2x by nearest neighbour (GraphicsMagick's Box filter at 2x), 7 px of
edge replication, the seven convolutions, then floor(clamp(x, 0, 1)·255 + 0.5) for 8 bits.
"""
from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

import zoo

PLUGIN = Path(__file__).resolve().parents[1]
SHARED = PLUGIN.parents[2] / "shared"
JSON = SHARED / "upstream" / "waifu2x-json" / "vgg_7" / "ukbench" / "scale2.0x_model.json"
IMAGE = SHARED / "images" / "waifu2x" / "miku_small_noisy.png"  # RGB, no alpha: the model sees the file's pixels
NAME = "vgg7-scale2x"


@pytest.fixture
def one_thread():
    """One torch thread (restored after): MKL's multi-threaded sums depend on the matrix shape, so tiles of
    other sizes would round differently; with one thread the reference convolution is exact."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def shared_or_skip() -> None:
    """Skip (saying why) on a fresh clone without ../shared."""
    if not JSON.is_file() or not IMAGE.is_file():
        pytest.skip(f"{SHARED} is absent (fresh clone without the reference data): no original JSON or image")


@lru_cache(maxsize=1)
def json_layers() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(weight [out][in][kh][kw], bias) per layer, float64, read directly from the JSON's lists."""
    layers = json.loads(JSON.read_bytes())
    out = []
    for layer in layers:
        shape = (layer["nOutputPlane"], layer["nInputPlane"], layer["kH"], layer["kW"])
        out.append((np.asarray(layer["weight"], np.float64).reshape(shape), np.asarray(layer["bias"], np.float64)))
    return tuple(out)


def reference(rgb: np.ndarray) -> np.ndarray:
    """waifu2x vgg_7 scale in float64: HxWx3 uint8 → 3x2Hx2W float (unclamped)."""
    x = rgb.astype(np.float64).transpose(2, 0, 1) / 255.0
    x = x.repeat(2, axis=1).repeat(2, axis=2)  # Box filter at exactly 2x: each pixel becomes a 2x2 block
    x = np.pad(x, ((0, 0), (7, 7), (7, 7)), mode="edge")  # model_config offset 7, edge replication
    layers = json_layers()
    for i, (w, b) in enumerate(layers):
        windows = sliding_window_view(x, w.shape[2:], axis=(1, 2))  # C, H', W', kh, kw
        x = np.tensordot(w, windows, axes=([1, 2, 3], [0, 3, 4])) + b[:, None, None]
        if i < len(layers) - 1:
            x = np.where(x > 0, x, 0.1 * x)
    return x


def to_8bit(x: np.ndarray) -> np.ndarray:
    """waifu2x's rounding: floor(clamp(x, 0, 1)·255 + 0.5)."""
    return np.floor(np.clip(x, 0, 1) * 255 + 0.5)


def real_crop(h: int = 40, w: int = 56) -> np.ndarray:
    """An h×w crop of a real image from ../shared (the face and hair: edges and gradients)."""
    return np.asarray(Image.open(IMAGE).convert("RGB"))[40:40 + h, 90:90 + w].copy()


def test_identity_weights_give_nearest_neighbour_2x_aligned():
    """With centre-tap kernels passing RGB through, the network is waifu2x's enlargement alone: each input pixel
    becomes the 2x2 block at twice its position (so the 4 px of padding and the 1 HR px crop line up)."""
    arch = zoo.get_registry().architecture("vgg7")
    module = arch.create().eval()
    with torch.no_grad():
        for conv in (m for m in module.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.weight.zero_(), conv.bias.zero_()
            for c in range(3):
                conv.weight[c, c, 1, 1] = 1.0
    x = torch.rand(1, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="replicate")
    with torch.inference_mode():
        y = module(padded)
    assert torch.equal(y, x.repeat_interleave(2, 2).repeat_interleave(2, 3))


@pytest.mark.slow
def test_model_config_is_what_the_architecture_assumes():
    shared_or_skip()
    first = json.loads(JSON.read_bytes())[0]
    assert first["model_config"] == {"arch_name": "vgg_7", "scale_factor": 1, "channels": 3, "offset": 7}
    geo = zoo.get_registry().architecture("vgg7").geometry()
    # waifu2x pads 7 HR px per side after enlarging; zoo pads `offset` input px, each 2 HR px (1 cropped).
    assert (geo.scale, geo.offset, geo.context) == (2, 4, 4)
    assert [p.shape[0] for _, p in json_layers()] == [32, 32, 64, 64, 128, 128, 3]


def backend_or_skip(backend: str) -> None:
    """ncnn runs zoo's own export of the module (the default CPU path when the ncnn package is installed)."""
    if backend == "ncnn":
        pytest.importorskip("ncnn", reason="the ncnn package is not installed: only the torch backend is checked")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "ncnn"])
def test_zoo_matches_numpy_reference_on_a_real_image(backend):
    shared_or_skip()
    backend_or_skip(backend)
    rgb = real_crop()
    ref = reference(rgb)
    assert ref.shape == (3, 2 * rgb.shape[0], 2 * rgb.shape[1])
    up = zoo.load(NAME, backend=backend, precision="fp32", tile_size=24)  # 6 tiles
    ours = up.upscale_tensor(torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255.0)).numpy()
    assert np.abs(ours - ref).max() <= 1e-4, np.abs(ours - ref).max()
    diff = np.abs(up.upscale(rgb).transpose(2, 0, 1).astype(np.float64) - to_8bit(ref))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.999, (diff.max(), (diff == 0).mean())


@pytest.mark.slow
def test_tiled_equals_whole(one_thread):
    """Exact (== on floats) with PyTorch's reference convolution, as tests/test_tiler.py; oneDNN may pick
    other kernels for other sizes, so with it the tiles agree to float rounding."""
    shared_or_skip()
    x = torch.from_numpy(real_crop().transpose(2, 0, 1).astype(np.float32) / 255.0)
    whole, tiled = zoo.load(NAME, backend="torch", tile_size=256), zoo.load(NAME, backend="torch", tile_size=12)
    with torch.backends.mkldnn.flags(enabled=False):
        a, b = whole.upscale_tensor(x), tiled.upscale_tensor(x)  # 12 tiles of 12 input px vs one
    assert a.shape == (3, 80, 112)
    assert torch.equal(a, b)
    assert (tiled.upscale_tensor(x) - whole.upscale_tensor(x)).abs().max() <= 1e-5


@pytest.mark.slow
def test_ncnn_tiles_agree_with_the_whole_image():
    """ncnn's kernels differ with the blob size, so tiles agree to float rounding (the crop is exact)."""
    shared_or_skip()
    backend_or_skip("ncnn")
    x = torch.from_numpy(real_crop().transpose(2, 0, 1).astype(np.float32) / 255.0)
    whole = zoo.load(NAME, backend="ncnn", tile_size=256).upscale_tensor(x)
    tiled = zoo.load(NAME, backend="ncnn", tile_size=12).upscale_tensor(x)
    assert whole.shape == (3, 80, 112) and (tiled - whole).abs().max() <= 1e-5


@pytest.mark.slow
def test_cli_upscale_gives_the_api_pixels(tmp_path):
    shared_or_skip()
    rgb = real_crop(24, 32)
    Image.fromarray(rgb).save(tmp_path / "in.png")
    cmd = [sys.executable, "-m", "zoo", "upscale", "-m", NAME, str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png")]
    subprocess.run(cmd, check=True, capture_output=True)
    out = np.asarray(Image.open(tmp_path / "o.png").convert("RGB"))
    assert out.shape == (48, 64, 3)
    assert np.array_equal(out, zoo.load(NAME).upscale(rgb))
    assert np.abs(out.astype(np.float64) - to_8bit(reference(rgb)).transpose(1, 2, 0)).max() <= 1


@pytest.mark.slow
def test_conversion_is_deterministic_and_gives_the_shipped_weights():
    """make_cards.py --check converts the original twice (byte-identical) and compares with what ships."""
    shared_or_skip()
    script = PLUGIN / "scripts" / "make_cards.py"
    done = subprocess.run([sys.executable, str(script), "--check", "--source", str(JSON)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok" in done.stdout
