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


def _ssim_conv2d_reference(a: torch.Tensor, b: torch.Tensor) -> float:
    """The former implementation (float64 grouped 11×11 conv2d), kept here as the reference for the fast one."""
    import torch.nn.functional as F

    t = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-t * t / (2 * 1.5 * 1.5))
    g = g / g.sum()
    x, y = a.double().unsqueeze(0), b.double().unsqueeze(0)
    c = x.shape[1]
    w = (g[:, None] * g[None, :]).view(1, 1, 11, 11).expand(c, 1, 11, 11)
    mu_x, mu_y = F.conv2d(x, w, groups=c), F.conv2d(y, w, groups=c)
    sxx = F.conv2d(x * x, w, groups=c) - mu_x**2
    syy = F.conv2d(y * y, w, groups=c) - mu_y**2
    sxy = F.conv2d(x * y, w, groups=c) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    return float((((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))).mean())


def test_ssim_equals_the_conv2d_reference_on_random_images() -> None:
    """Random pictures (noise, flat areas, 8-bit steps, odd sizes; Y and RGB): the same figure to 1e-9."""
    gen = torch.Generator().manual_seed(3)
    for c, h, w in ((1, 11, 11), (3, 37, 52), (1, 64, 29), (3, 90, 70)):
        a = torch.rand(c, h, w, generator=gen)
        a[:, : h // 2] = 0.5  # a flat band: variances near zero, where cancellation would show
        b = torch.floor((a + 0.08 * torch.randn(c, h, w, generator=gen)).clamp(0, 1) * 255 + 0.5) / 255
        for x, y in ((a, b), (b, a), (a, a), (rgb_to_y(a) if c == 3 else a, rgb_to_y(b) if c == 3 else b)):
            assert ssim(x, y) == pytest.approx(_ssim_conv2d_reference(x, y), abs=1e-9)
    with pytest.raises(ValueError, match="11×11"):
        ssim(torch.rand(1, 10, 40), torch.rand(1, 10, 40))


def test_table_keeps_whole_names(tmp_path: Path) -> None:
    """Three names alike in their first 28 characters stay three different rows."""
    from zoo_core.train.evaluate import format_table

    for i in range(3):
        synthetic_image(i, 32).save(tmp_path / f"character-sprite-long-shared-prefix-{i}.png")
    table = format_table(evaluate_upscale(Bicubic(), tmp_path, name="bicubic"))
    for i in range(3):
        assert f"character-sprite-long-shared-prefix-{i}.png" in table
    widths = {len(line) for line in table.splitlines()[1:-1] if not line.startswith("-")}
    assert len(widths) == 1, "columns stay aligned"
