"""Degradations: the seed's bicubic + JPEG and the waifu2x-like one, registered through the hook."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo_core.train.degradations import SeedJpeg, Waifu2xDegradation, crop_to_multiple, jpeg
from zoo_core.train.synthetic import synthetic_image


@pytest.fixture(scope="module")
def hr() -> Image.Image:
    return synthetic_image(7, 96).crop((0, 0, 95, 94))  # odd width: must be cropped to the scale


def arr(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)


def test_registered_through_the_hook() -> None:
    reg = zoo.get_registry()
    for name in ("seed-jpeg", "waifu2x"):
        spec = reg.degradation(name)
        assert isinstance(spec, zoo.DegradationSpec)
        deg = spec.create(**spec.options)
        lr, target = deg(synthetic_image(1, 64), scale=2, seed=0)
        assert lr.size == (32, 32) and target.size == (64, 64)


def test_seed_jpeg_level0_is_exactly_pil_bicubic(hr: Image.Image) -> None:
    lr, target = SeedJpeg(noise_level=0)(hr, scale=2, seed=0)
    assert target.size == (94, 94)  # cropped to a multiple of 2
    expected = crop_to_multiple(hr, 2).resize((47, 47), Image.Resampling.BICUBIC)
    assert np.array_equal(arr(lr), arr(expected))


@pytest.mark.parametrize("level", [1, 3])
def test_seed_jpeg_quality_is_100_minus_10_level(hr: Image.Image, level: int) -> None:
    lr, _ = SeedJpeg(noise_level=level)(hr, scale=2, seed=0)
    clean = crop_to_multiple(hr, 2).resize((47, 47), Image.Resampling.BICUBIC)
    assert np.array_equal(arr(lr), arr(jpeg(clean, 100 - 10 * level)))
    assert not np.array_equal(arr(lr), arr(clean))


def test_more_noise_means_further_from_clean(hr: Image.Image) -> None:
    clean = arr(SeedJpeg(noise_level=0)(hr, scale=2, seed=0)[0])
    err = [np.abs(arr(SeedJpeg(noise_level=n)(hr, scale=2, seed=0)[0]) - clean).mean() for n in (1, 3)]
    assert 0 < err[0] < err[1]


def test_waifu2x_deterministic_for_a_seed_and_varies_across_seeds(hr: Image.Image) -> None:
    deg = Waifu2xDegradation(noise_level=2)
    a, b = deg(hr, scale=2, seed=123)[0], deg(hr, scale=2, seed=123)[0]
    assert np.array_equal(arr(a), arr(b))
    outs = {arr(deg(hr, scale=2, seed=s)[0]).tobytes() for s in range(6)}
    assert len(outs) > 1
    assert a.size == (47, 47)


def test_waifu2x_level_minus1_has_no_jpeg_and_level3_is_noisier(hr: Image.Image) -> None:
    clean_filters = [arr(Waifu2xDegradation(noise_level=-1, blur_probability=0)(hr, scale=2, seed=s)[0]) for s in range(4)]
    noisy = [arr(Waifu2xDegradation(noise_level=3, blur_probability=0)(hr, scale=2, seed=s)[0]) for s in range(4)]
    ref = arr(crop_to_multiple(hr, 2).resize((47, 47), Image.Resampling.BICUBIC))
    assert np.mean([np.abs(c - ref).mean() for c in clean_filters]) < np.mean([np.abs(n - ref).mean() for n in noisy])


@pytest.mark.parametrize("bad", [{"noise_level": 4}, {"noise_level": -1}, {"filter": "sinc"}])
def test_bad_options_are_config_errors(bad: dict) -> None:
    with pytest.raises(zoo.ConfigError):
        SeedJpeg(**bad)
