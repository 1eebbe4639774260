"""`zoo eval`: metrics, the table / JSON / grid outputs, and clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from zoo_core.cli import main
from zoo_core.train.evaluate import HEADER, evaluate_upscale, grid_image
from zoo_core.train.metrics import psnr, rgb_to_y, ssim, upscale_module
from zoo_core.train.synthetic import synthetic_image


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hr")
    synthetic_image(1, 64).save(d / "a.png")
    rgba = synthetic_image(2, 48).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(d / "b.png")
    (d / "notes.txt").write_text("not an image")
    return d


class Bicubic:
    scale = 2

    def __call__(self, lr: Image.Image) -> Image.Image:
        return lr.resize((lr.width * 2, lr.height * 2), Image.Resampling.BICUBIC)


def test_metric_sanity() -> None:
    torch.manual_seed(0)
    x = torch.rand(3, 32, 32)
    assert psnr(x, x) == 100.0 and ssim(x, x) == pytest.approx(1.0)
    assert psnr(x, (x + 0.1)) == pytest.approx(20.0, abs=1e-6)
    assert ssim(x, torch.rand(3, 32, 32)) < 0.2
    white = torch.ones(3, 1, 1)
    assert rgb_to_y(white).item() == pytest.approx(235 / 255, abs=1e-4)


def test_bicubic_as_the_model_scores_exactly_like_bicubic(folder: Path) -> None:
    report = evaluate_upscale(Bicubic(), folder, name="bicubic-itself")
    assert [r["image"] for r in report["images"]] == ["a.png", "b.png"]
    assert report["gain_psnr_y_vs_bicubic"] == 0.0
    m = report["mean"]
    assert m["model"] == m["bicubic"] and m["lanczos"]["psnr_y"] != m["bicubic"]["psnr_y"]


def test_upscale_module_pads_by_context_like_the_tiler() -> None:
    import zoo

    arch = zoo.get_registry().architecture("upconv7")
    net = arch.create().eval()
    x = torch.rand(1, 3, 20, 24)
    assert upscale_module(net, arch.geometry(), x).shape == (1, 3, 40, 48)


@pytest.mark.slow
def test_cli_table_json_and_grid(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import zoo

    if "example-tiny-nearest" not in zoo.get_registry().cards:
        pytest.skip("the example plugin (tests/example_plugin) is not installed; run scripts/setup.sh")
    assert main(["eval", "example-tiny-nearest", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "PSNR-Y" in out and "model vs bicubic" in out
    grid = tmp_path / "grid.png"
    assert main(["eval", "example-tiny-nearest", str(folder), "--json", "--grid", str(grid)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mean"]["model"]["psnr_y"] < report["mean"]["bicubic"]["psnr_y"]  # nearest loses to bicubic
    with Image.open(grid) as im:
        assert im.format == "PNG" and im.width == 4 * 64 * 2 + 3 * 4  # 4 crops of the 64-px image, zoom 2
        assert im.height > HEADER + 64 * 2  # the label band above the rows


def test_grid_rows_are_lr_bicubic_model_hr(folder: Path) -> None:
    img = grid_image(Bicubic(), folder, side=32, zoom=1)
    assert img.size == (4 * 32 + 12, HEADER + 2 * 32 + 4)
    arr = torch.from_numpy(__import__("numpy").asarray(img).copy())
    body = arr[HEADER:]
    assert torch.equal(body[:32, 36:68], body[:32, 72:104])  # model == bicubic here
    assert not torch.equal(body[:32, :32], body[:32, 36:68])  # the nearest input is not the bicubic column


def test_grid_columns_are_labelled(folder: Path) -> None:
    """Each column's header band carries dark text; a long model name is cut to its column."""
    import numpy as np

    img = grid_image(Bicubic(), folder, side=48, zoom=2, model_label="a-model-name-far-too-long-for-one-column")
    head = np.asarray(img.convert("L"))[:HEADER]
    w = 96
    for c in range(4):
        column = head[:, c * (w + 4): c * (w + 4) + w]
        assert (column < 128).sum() > 20, f"column {c} has no label"
    assert (head[:, 3 * w + 3 * 4 - 4: 3 * w + 3 * 4] < 128).sum() == 0  # nothing spills into the gap before 'original'


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "upconv7", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "No PNG" in err and len(err.strip().splitlines()) == 1
    assert main(["eval", "upconv7", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err
