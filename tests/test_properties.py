"""Property-based tests (hypothesis) of the inferer over sizes, modes, tile sizes and scales."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import zoo
from zoo_core.infer.imageio import read_picture
from zoo_core.infer.modes import Picture
from zoo_core.infer.scaling import scale_picture, target_size
from zoo_core.infer.tiler import reference, run_tiled
from infer_helpers import random_model, runner_of

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "I;16", "F", "LAB", "HSV", "La"]
sizes = st.integers(1, 40)
_UP: dict[str, zoo.Upscaler] = {}


def nearest() -> zoo.Upscaler:
    if "up" not in _UP:  # loading once keeps the examples fast; the registry is rebuilt per test anyway
        _UP["up"] = zoo.load("example-tiny")
    return _UP["up"]


@pytest.mark.slow
@FAST
@given(h=sizes, w=sizes, channels=st.sampled_from([1, 2, 3, 4]), sixteen=st.booleans(),
       tile=st.integers(1, 48), scale=st.sampled_from([1, 1.5, 2, 3, 4]), tta=st.booleans())
def test_output_size_always_right(h, w, channels, sixteen, tile, scale, tta):
    dtype = np.uint16 if sixteen else np.uint8
    arr = np.random.default_rng(h * 100 + w).integers(0, np.iinfo(dtype).max + 1, (h, w, channels), dtype=dtype)
    up = nearest()

    def step(p: Picture, i: int) -> Picture:
        return up.upscale_picture(p, tile_size=tile, tta=tta)

    out = scale_picture(Picture(pixels=arr), scale, up.scale, step)
    assert out.pixels.shape == (*target_size(w, h, scale), channels) and out.pixels.dtype == dtype
    if scale == 2:  # nearest-neighbour weights: exactly the input repeated, whatever the tiling
        want = arr.repeat(2, 0).repeat(2, 1)
        visible = want[..., -1] > 0 if channels in (2, 4) else np.ones(want.shape[:2], bool)
        assert np.array_equal(out.pixels[visible], want[visible])  # hidden colours get extended ones
        assert np.array_equal(out.pixels[..., -1], want[..., -1])


_MODEL = {}


@settings(max_examples=12, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30), tile=st.integers(8, 32), batch=st.integers(1, 4),
       tta=st.booleans())
def test_tiled_equals_whole(h, w, tile, batch, tta):
    if "m" not in _MODEL:
        _MODEL["m"] = random_model("example-tiny", seed=3)
    module, geo = _MODEL["m"]
    run = runner_of(module)
    img = torch.rand(3, h, w, generator=torch.Generator().manual_seed(h * 41 + w))
    with torch.backends.mkldnn.flags(enabled=False):
        got = run_tiled(run, img, geo, tile=tile, batch=batch, tta=tta)
        if tta:
            want = run_tiled(run, img, geo, tile=10_000, tta=True)
        else:
            want = reference(run, img, geo)
    assert torch.equal(got, want)


@pytest.mark.slow
@FAST
@given(mode=st.sampled_from(MODES), h=st.integers(1, 12), w=st.integers(1, 12), tile=st.integers(1, 16))
def test_any_mode_upscales_or_raises_zoo_error(mode, h, w, tile):
    rgba = np.random.default_rng(h * 13 + w).integers(0, 256, (h, w, 4), dtype=np.uint8)
    base = Image.fromarray(rgba, "RGBA")
    try:
        img = base.convert(mode)
    except (ValueError, OSError):
        img = base.convert("RGB").convert(mode)
    try:
        out = nearest().upscale(img, tile_size=tile)
    except zoo.ZooError:
        return
    assert out.size == (2 * w, 2 * h)


@FAST
@given(fmt=st.sampled_from(["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]), cut=st.floats(0, 1),
       noise=st.binary(max_size=64), h=st.integers(1, 30), w=st.integers(1, 30))
def test_damaged_files_raise_only_zoo_errors(tmp_path_factory, fmt, cut, noise, h, w):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((h, w, 3), np.uint8) + 99).save(buf, format=fmt)
    data = buf.getvalue()
    data = data[:int(len(data) * cut)] + noise
    p = tmp_path_factory.mktemp("damaged") / f"x.{fmt.lower()}"
    p.write_bytes(data)
    try:
        pic = read_picture(p)
    except zoo.ZooError as err:
        assert "\n" not in str(err) and str(p) in str(err)
        return
    assert pic.pixels.ndim == 3 and pic.pixels.shape[0] >= 1
