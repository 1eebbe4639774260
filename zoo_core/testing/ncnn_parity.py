"""Parity tests' shared part: the PyPI `ncnn` engine running a card's original files vs zoo on the same input.

A plugin's parity test keeps its list of cards, blob names and thresholds; running ncnn (fp32, one thread,
no Vulkan), finding the originals, the real image crop and the comparison are here. Import it only from
tests: it needs pytest.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import torch

import zoo

SHARED = Path(__file__).resolve().parents[2].parent / "shared"  # reference data beside the checkout
ART_IMAGE = ("miku_small.png", 40, 90)  # file in ../shared/images/waifu2x, top, left


@pytest.fixture(autouse=True)
def isolated_zoo(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No network, a private zoo cache (weights are rebuilt from the package), a fresh registry, one thread."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path_factory.mktemp("zoo_home")))
    zoo.reset_registry()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    zoo.reset_registry()


def ncnn_or_skip() -> Any:
    """The ncnn module, or skip the test module saying why."""
    return pytest.importorskip("ncnn", reason="the PyPI ncnn engine (test extra) is not installed")


def originals_or_skip(package: str) -> md.Distribution:
    """The installed package holding the original files, or skip the test module saying why."""
    try:
        return md.distribution(package)
    except md.PackageNotFoundError:
        pytest.skip(f"{package} (the original files) is not installed", allow_module_level=True)


def original_files(dist: md.Distribution, name: str) -> list[Path]:
    """The card's original .param and .bin inside the installed package."""
    return [Path(str(dist.locate_file(f["path"]))) for f in zoo.get_card(name).upstream["files"]]


def crop(h: int, w: int, image: tuple[str, int, int] = ART_IMAGE) -> np.ndarray:
    """An h×w RGB uint8 crop of a real image from ../shared (a generated picture when it is absent)."""
    from PIL import Image

    name, top, left = image
    path = SHARED / "images" / "waifu2x" / name
    if path.is_file():
        img = np.asarray(Image.open(path).convert("RGB"))
    else:
        from zoo_core.infer.demo import demo_image

        img, top, left = np.asarray(demo_image(128).convert("RGB")), 30, 40
    return np.ascontiguousarray(img[top:top + h, left:left + w])


def ncnn_run(files: list[Path], x: np.ndarray, blobs: tuple[str, str]) -> np.ndarray:
    """The original file on ncnn, fp32 all the way, one thread: CHW float in, CHW float out."""
    ncnn = ncnn_or_skip()
    param, binf = files
    net = ncnn.Net()
    net.opt.use_vulkan_compute, net.opt.num_threads = False, 1
    for opt in ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_storage"):
        setattr(net.opt, opt, False)  # like the torch reference
    assert net.load_param(str(param)) == 0 and net.load_model(str(binf)) == 0
    ex = net.create_extractor()
    assert ex.input(blobs[0], ncnn.Mat(np.ascontiguousarray(x))) == 0
    ret, out = ex.extract(blobs[1])
    assert ret == 0
    return np.array(out)


def to_8bit(x: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 8-bit levels, rounded half up as zoo writes them."""
    return np.floor(np.clip(x, 0, 1) * 255 + 0.5)


@dataclass(frozen=True)
class Parity:
    """How close zoo's output is to ncnn's: max float difference, 8-bit values equal and within one level."""

    max_abs: float
    equal: float
    within_one: float

    def __str__(self) -> str:
        return (f"max|d|={self.max_abs:.2e}  8-bit equal {100 * self.equal:.3f}%  "
                f"within 1 {100 * self.within_one:.3f}%")


def parity(ours: np.ndarray, ref: np.ndarray) -> Parity:
    """The figures for two outputs of the same shape."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    diff = np.abs(to_8bit(ours) - to_8bit(ref))
    return Parity(float(np.abs(ours - ref).max()), float((diff == 0).mean()), float((diff <= 1).mean()))


def assert_parity(ours: np.ndarray, ref: np.ndarray, *, atol: float = 1e-4, min_equal: float = 0.999) -> Parity:
    """Float within atol; 8-bit values never more than one level apart and at least min_equal of them equal."""
    got = parity(ours, ref)
    assert got.max_abs <= atol and got.within_one == 1 and got.equal >= min_equal, str(got)
    return got


def tiled_vs_ncnn(name: str, rgb: np.ndarray, run_ncnn: Callable[[np.ndarray], np.ndarray],
                  *, tile: int, backend: str = "torch") -> tuple[np.ndarray, np.ndarray]:
    """zoo (in tiles, on `backend`) on rgb, and ncnn on rgb edge-padded by the context as zoo pads it, cropped alike."""
    up = zoo.load(name, backend=backend, tile_size=tile)
    geo, s = up.geometry, up.scale
    x = rgb.transpose(2, 0, 1).astype(np.float32) / 255
    ctx, cut = geo.context, (geo.context - geo.offset) * s
    ref = run_ncnn(np.pad(x, ((0, 0), (ctx, ctx), (ctx, ctx)), mode="edge"))
    ref = ref[:, cut:ref.shape[1] - cut, cut:ref.shape[2] - cut]
    ours = up.upscale_tensor(torch.from_numpy(x)).numpy()
    assert ours.shape == (3, rgb.shape[0] * s, rgb.shape[1] * s)
    return ours, ref


def assert_card_is_what_zoo_convert_writes(name: str, files: list[Path]) -> None:
    """The card's weights.sha256 is the sha256 of converting its original files."""
    from zoo_core.api import convert_to_bytes

    card = zoo.get_card(name)
    data = convert_to_bytes(card.architecture, "ncnn", files, card.hyperparameters)
    assert hashlib.sha256(data).hexdigest() == card.weights["sha256"]


def assert_tiles_equal_whole_and_per_tile_stats_differ(name: str, rgb: np.ndarray) -> None:
    """Image-wide statistics (SE): several tile sizes equal the whole image; per-tile statistics would not."""
    from zoo_core.infer.tiler import reference, run_tiled

    up = zoo.load(name, backend="torch")
    x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255)
    with torch.backends.mkldnn.flags(enabled=False):  # oneDNN picks kernels by shape: bits may differ
        whole = reference(up.runner, x, up.geometry)
        for tile in (8, 12, 16):
            assert torch.equal(run_tiled(up.runner, x, up.geometry, tile=tile), whole), tile
        per_tile = run_tiled(lambda t: up.runner(t), x, up.geometry, tile=8)  # no prepare_image: tile-local means
    assert (per_tile - whole).abs().max() > 1e-3


def assert_ncnn_tiles_match_whole(name: str, rgb: np.ndarray, tiles: tuple[int, ...] = (8, 12, 16)) -> None:
    """The ncnn path in tiles (image-wide statistics gathered) vs its own whole-image run and torch's.

    ncnn picks its kernels by shape, so tiles are within float rounding of the whole, not bit-equal.
    """
    from zoo_core.infer.tiler import reference

    fast, ref = zoo.load(name, backend="ncnn"), zoo.load(name, backend="torch")
    x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255)
    whole = reference(fast.runner, x, fast.geometry).numpy()  # one ncnn run: the image's own statistics
    assert_parity(whole, reference(ref.runner, x, ref.geometry).numpy(), atol=3e-5)
    for tile in tiles:
        assert_parity(fast.upscale_tensor(x, tile_size=tile).numpy(), whole, atol=3e-5)


def assert_tta_refused_in_one_line(name: str, backend: str = "torch") -> None:
    """--tta on a model with image-wide statistics is refused with a one-line ZooError."""
    up = zoo.load(name, backend=backend)
    with pytest.raises(zoo.ZooError, match="--tta") as err:
        up.upscale(crop(16, 16), tta=True)
    assert "\n" not in str(err.value)
