"""Upscaler API: every PIL mode, alpha, 16-bit, scale factors by passes, -n/--style card choice."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo_core.cards import parse_card
from zoo_core.infer.alpha import extend_colour
from zoo_core.infer.modes import Picture, picture_from_pil
from zoo_core.infer.scaling import passes_for, plan_cards, scale_picture, target_size
from infer_helpers import bilinear_runner, make_upscaler, nearest

RNG = np.random.default_rng(0)


def rgb(h: int = 5, w: int = 7) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def twice(a: np.ndarray) -> np.ndarray:
    return a.repeat(2, 0).repeat(2, 1)


# mode → mode of the result (None: refused with an ImageError)
MODES = {"1": "L", "L": "L", "LA": "LA", "La": "LA", "P": "RGB", "PA": "RGBA", "RGB": "RGB", "RGBA": "RGBA",
         "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "HSV": "RGB", "I": "I;16",
         "I;16": "I;16", "I;16B": "I;16", "I;16L": "I;16", "LAB": None, "F": None}


def make_mode(mode: str) -> Image.Image:
    base = Image.fromarray(np.dstack([rgb(), RNG.integers(1, 255, (5, 7, 1), dtype=np.uint8)]), "RGBA")
    if mode in ("I", "I;16", "I;16B", "I;16L"):
        return Image.fromarray(RNG.integers(0, 65536, (5, 7), dtype=np.uint16)).convert(mode) \
            if mode != "I;16" else Image.fromarray(RNG.integers(0, 65536, (5, 7), dtype=np.uint16))
    if mode in ("LAB", "F", "RGBX", "YCbCr", "HSV", "CMYK", "1", "P"):
        return base.convert("RGB").convert(mode) if mode not in ("1", "F") else base.convert("L").convert(mode)
    return base.convert("LA").convert("La") if mode == "La" else base.convert(mode)  # RGBA→La drops alpha


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_pil_mode(mode):
    up = nearest()
    img = make_mode(mode)
    if MODES[mode] is None:
        with pytest.raises(zoo.ImageError, match=f"mode {mode}"):
            up.upscale(img)
        return
    out = up.upscale(img)
    assert out.size == (14, 10) and out.mode == MODES[mode]
    if mode in ("L", "RGB", "RGBA", "LA", "I;16"):  # kept exactly (nearest-neighbour weights)
        assert np.array_equal(np.asarray(out), twice(np.asarray(img)))


@pytest.mark.slow
def test_sixteen_bit_grey_and_colour_keep_sixteen_bits():
    up = nearest()
    for c in (1, 2, 3, 4):
        a = RNG.integers(0, 65536, (4, 6, c), dtype=np.uint16)
        if c in (2, 4):
            a[..., -1] = RNG.integers(1, 65535, (4, 6))
        out = up.upscale(a)
        assert out.dtype == np.uint16 and np.array_equal(out, twice(a)), c


@pytest.mark.slow
def test_opaque_alpha_dropped_but_real_alpha_kept_and_upscaled():
    up = nearest()
    opaque = np.dstack([rgb(), np.full((5, 7, 1), 255, np.uint8)])
    assert up.upscale(Image.fromarray(opaque, "RGBA")).mode == "RGB"
    assert np.array_equal(up.upscale(opaque), twice(opaque))  # arrays keep their 4 channels
    a = opaque.copy()
    a[..., 3] = RNG.integers(0, 256, (5, 7))
    out = up.upscale(Image.fromarray(a, "RGBA"))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], twice(a[..., 3]))
    visible = twice(a[..., 3]) > 0  # hidden colours are replaced by extended ones; visible ones kept
    assert np.array_equal(np.asarray(out)[..., :3][visible], twice(a[..., :3])[visible])


@pytest.mark.slow
def test_palette_with_transparency_keeps_alpha():
    img = Image.new("P", (6, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (2, 1, 5, 3))
    img.info["transparency"] = 0
    out = nearest().upscale(img)
    assert out.mode == "RGBA"
    alpha = np.asarray(out)[..., 3]
    assert alpha[2:6, 4:10].min() == 255 and alpha[:2].max() == 0


def disc() -> np.ndarray:
    """A red opaque disc on transparent black: the case where naive upscaling darkens the edge."""
    yy, xx = np.mgrid[:24, :24]
    inside = (yy - 11.5) ** 2 + (xx - 11.5) ** 2 < 8**2
    a = np.zeros((24, 24, 4), np.uint8)
    a[inside] = (255, 0, 0, 255)
    return a


def test_colour_extended_into_transparency_so_edges_do_not_darken():
    up = make_upscaler(bilinear_runner(), context=1)
    a = disc()
    out = up.upscale(a)
    edge = (out[..., 3] > 0) & (out[..., 3] < 255)
    assert edge.sum() > 20
    assert out[..., 0][edge].min() >= 254 and out[..., 1:3][edge].max() <= 1  # still pure red at the edge
    naive = up.upscale(np.ascontiguousarray(a[..., :3]))  # without extension black bleeds in
    assert naive[..., 0][edge].min() < 200


def test_extend_colour_reaches_far_pixels_and_keeps_visible_ones():
    colour = np.zeros((9, 9, 3), np.uint8)
    alpha = np.zeros((9, 9), np.uint8)
    colour[4, 4], alpha[4, 4] = (10, 200, 30), 255
    out = extend_colour(colour, alpha, iterations=2)
    assert (out == (10, 200, 30)).all()  # within 2 px by growth, beyond by the mean of known colours
    assert extend_colour(colour, np.zeros_like(alpha), 3) is colour  # nothing visible: unchanged


@pytest.mark.parametrize("target,passes", [(1, 1), (1.5, 1), (2, 1), (3, 2), (4, 2), (8, 3)])
def test_scale_factors_by_passes_then_downscale(target, passes):
    assert passes_for(2, target) == passes
    calls = []

    def step(p: Picture, i: int) -> Picture:
        calls.append(i)
        return Picture(pixels=twice(p.pixels))

    src = rgb(5, 7)
    out = scale_picture(Picture(pixels=src), target, 2, step)
    assert out.pixels.shape[:2] == target_size(7, 5, target) and len(calls) == passes
    if target in (2, 4, 8):  # powers of the model's scale: no resampling, so exact
        k = int(target)
        assert np.array_equal(out.pixels, src.repeat(k, 0).repeat(k, 1))
    assert target_size(7, 5, 1.5) == (8, 11)  # halves round up


def test_bad_scale_is_a_clear_error():
    for bad in (0.5, 0, 100):
        with pytest.raises(zoo.ZooError, match="out of range"):
            passes_for(2, bad)


def card(name, noise, style="art", arch="upconv7", scale=2):
    return parse_card({"name": name, "architecture": arch, "task": {"scale": scale, "noise_level": noise,
                       "style": style}, "weights": {"file": "x", "sha256": "0" * 64}, "license": "MIT",
                       "description": "d"})


def test_noise_and_style_pick_cards_by_their_fields_not_names():
    cards = [card("a", -1), card("b", 1), card("weird-name", 2, "photo"), card("p0", -1, "photo"),
             card("other-arch", 1, arch="espcn7")]
    base = cards[0]
    p = plan_cards(cards, base, noise=1, style=None, scale=4)
    assert (p.first.name, p.rest.name, p.passes) == ("b", "a", 2)
    p = plan_cards(cards, base, noise=2, style="photo", scale=2)
    assert (p.first.name, p.rest.name) == ("weird-name", "p0")
    with pytest.raises(zoo.ZooError, match=r"noise level 3 .*installed noise levels for that style: -1, 1"):
        plan_cards(cards, base, noise=3, style=None, scale=2)


def test_registered_upconv7_cards_resolve():
    cards = zoo.list_models()
    base = zoo.get_card("upconv7-scale2x")
    if not any(c.noise_level == 1 and c.architecture == "upconv7" for c in cards):
        pytest.skip("the upconv7 noise cards are not installed")
    p = plan_cards(cards, base, noise=1, style="photo", scale=2)
    assert (p.first.noise_level, p.first.style, p.rest.noise_level) == (1, "photo", -1)


def test_tta_on_a_symmetric_model_changes_nothing():
    up = nearest()
    a = rgb()
    assert np.array_equal(up.upscale(a, tta=True), twice(a))


@pytest.mark.slow
def test_tensor_and_picture_api():
    up = nearest()
    x = torch.rand(3, 4, 5)
    assert up.upscale_tensor(x).shape == (3, 8, 10)
    pic = picture_from_pil(Image.fromarray(rgb()))
    pic.icc, pic.gamma = b"icc", 0.45455
    out = up.upscale_picture(pic)
    assert out.icc == b"icc" and out.gamma == 0.45455 and out.pixels.shape == (10, 14, 3)
    with pytest.raises(zoo.ZooError, match="takes a PIL image"):
        up.upscale(42)
    with pytest.raises(zoo.ImageError, match="Expected an HxWxC"):
        up.upscale(np.zeros((3, 3), np.uint8))
