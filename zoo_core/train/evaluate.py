"""`zoo eval`: PSNR/SSIM on Y and RGB of a model vs bicubic and Lanczos, HR shrunk by bicubic."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch
from PIL import Image

from ..atomic import refuse_inputs
from ..errors import ImageError
from ..weights.safetensors_io import atomic_write_bytes
from .dataset import image_files, to_rgb, to_tensor
from .degradations import crop_to_multiple
from .metrics import psnr, rgb_to_y, shave, ssim

METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")
Upscale = Callable[[Image.Image], Image.Image]


def _load(model: str, weights: Path | None, threads: int | None) -> Any:
    from ..api import load

    return load(model, weights=weights, threads=threads)


def score(out: Image.Image, hr: Image.Image, border: int) -> dict[str, float]:
    """The four metrics of an 8-bit result against the HR image, `border` pixels per side excluded."""
    a, b = shave(to_tensor(out), border), shave(to_tensor(hr), border)
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    return {"psnr_y": psnr(ya, yb), "ssim_y": ssim(ya, yb), "psnr_rgb": psnr(a, b), "ssim_rgb": ssim(a, b)}


def methods(upscale: Upscale) -> dict[str, Upscale]:
    """Bicubic and Lanczos (PIL) next to the model."""
    return {
        "bicubic": lambda lr: lr.resize((lr.width * _scale(upscale), lr.height * _scale(upscale)), Image.Resampling.BICUBIC),
        "lanczos": lambda lr: lr.resize((lr.width * _scale(upscale), lr.height * _scale(upscale)), Image.Resampling.LANCZOS),
        "model": upscale,
    }


def _scale(upscale: Upscale) -> int:
    return int(getattr(upscale, "scale", 2))


class _ModelUpscale:
    """Adapter: an Upscaler as a PIL → PIL function that knows its scale."""

    def __init__(self, upscaler: Any) -> None:
        self.upscaler, self.scale = upscaler, upscaler.scale

    def __call__(self, lr: Image.Image) -> Image.Image:
        return self.upscaler.upscale(lr).convert("RGB")


def _read_all(files: list[Path]) -> tuple[list[tuple[Path, Image.Image]], list[str]]:
    """Each file decoded as RGB, and one line for each that cannot be: a bad file never stops the others."""
    from ..infer.imageio import opened

    good, bad = [], []
    for f in files:
        try:
            with opened(f) as im:  # zoo upscale's opener: its one-line errors, the same decoding as training
                good.append((f, to_rgb(im)))
        except ImageError as err:
            bad.append(str(err))
    return good, bad


Degrade = Callable[[Image.Image, int, str], Image.Image]  # (HR, scale, file name) -> LR


def bicubic_shrink(hr: Image.Image, scale: int, _name: str) -> Image.Image:
    """The default LR: HR shrunk by PIL bicubic."""
    return hr.resize((hr.width // scale, hr.height // scale), Image.Resampling.BICUBIC)


def _pairs(folder: Path, scale: int, skipped: list[str] | None = None,
           degrade: Degrade = bicubic_shrink) -> list[tuple[str, Image.Image, Image.Image]]:
    files = image_files([folder])
    if not files:
        raise ImageError(f"No PNG/JPEG/WebP/BMP images in '{folder}'. Point zoo eval at a folder of HR images.")
    good, bad = _read_all(files)
    if skipped is not None:
        skipped += bad
    if not good:
        raise ImageError(f"No image in '{folder}' could be read: {bad[0]}")
    out = []
    for f, img in good:
        hr = crop_to_multiple(img, scale)
        if min(hr.size) >= 8 * scale:  # too small to say anything once the border is excluded
            out.append((f.name, degrade(hr, scale, f.name), hr))
    if not out:
        raise ImageError(f"Every image in '{folder}' is smaller than {8 * scale} pixels; nothing to evaluate.")
    return out


def evaluate_upscale(upscale: Upscale, folder: Path, *, border: int | None = None, name: str = "model",
                     degrade: Degrade = bicubic_shrink) -> dict[str, Any]:
    """Evaluate any PIL → PIL upscaler with a `scale` attribute on every image in `folder` (LR made by `degrade`)."""
    scale = _scale(upscale)
    border = scale if border is None else border
    rows, skipped = [], []  # type: ignore[var-annotated]
    for fname, lr, hr in _pairs(Path(folder), scale, skipped, degrade):
        rows.append({"image": fname, "size": list(hr.size),
                     "results": {m: score(fn(lr), hr, border) for m, fn in methods(upscale).items()}})
    mean = {m: {k: sum(r["results"][m][k] for r in rows) / len(rows) for k in METRICS} for m in ("bicubic", "lanczos", "model")}
    return {"model": name, "scale": scale, "border": border, "images": rows, "mean": mean,
            "gain_psnr_y_vs_bicubic": mean["model"]["psnr_y"] - mean["bicubic"]["psnr_y"], "skipped": skipped}


def evaluate_folder(model: str, folder: Path, *, weights: Path | None = None, border: int | None = None,
                    threads: int | None = None, grid: Path | None = None) -> dict[str, Any]:
    """Evaluate a registered model (card name or architecture id) on a folder of HR images."""
    if not os.path.isdir(folder):  # never raises, unlike Path.is_dir on a name too long
        raise ImageError(f"'{folder}' is not a folder. Give zoo eval a folder of HR images.")
    files = image_files([folder])
    if not files:
        raise ImageError(f"No PNG/JPEG/WebP/BMP images in '{folder}'. Point zoo eval at a folder of HR images.")
    if grid is not None:  # checked before the model runs: the grid must never replace an HR image
        refuse_inputs(Path(grid), files, ImageError, flag="--grid")
    with torch.inference_mode():
        upscale = _ModelUpscale(_load(model, weights, threads))
        report = evaluate_upscale(upscale, folder, border=border, name=model)
        if grid is not None:
            write_grid(upscale, folder, grid, model_label=model)
    return report


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table: one row per image and method, then the means (names whole: no two rows alike)."""
    mean_label = f"mean of {len(report['images'])}"
    width = max([28, len(mean_label)] + [len(img["image"]) for img in report["images"]])
    head = f"{'image':<{width}} {'method':<8} {'PSNR-Y':>7} {'SSIM-Y':>7} {'PSNR-RGB':>8} {'SSIM-RGB':>8}"
    lines = [f"{report['model']}: {report['scale']}x, HR shrunk by bicubic, border {report['border']} px", head, "-" * len(head)]

    def row(label: str, method: str, r: dict[str, float]) -> str:
        return f"{label:<{width}} {method:<8} {r['psnr_y']:7.2f} {r['ssim_y']:7.4f} {r['psnr_rgb']:8.2f} {r['ssim_rgb']:8.4f}"

    for img in report["images"]:
        lines += [row(img["image"], m, r) for m, r in img["results"].items()]
    lines.append("-" * len(head))
    lines += [row(mean_label, m, r) for m, r in report["mean"].items()]
    lines.append(f"model vs bicubic: {report['gain_psnr_y_vs_bicubic']:+.2f} dB PSNR-Y")
    return "\n".join(lines)


def _busiest_box(hr: Image.Image, side: int, scale: int) -> tuple[int, int, int, int]:
    """The side×side HR crop (aligned to the scale) with the most edge energy: where SR differs most."""
    y = rgb_to_y(to_tensor(hr))[0]
    energy = (y[:, 1:] - y[:, :-1]).abs()[:-1] + (y[1:] - y[:-1]).abs()[:, :-1]
    side = min(side, hr.width - hr.width % scale, hr.height - hr.height % scale)
    # box sums of (side-1)² windows at stride `scale` from a summed-area table: O(pixels), not O(pixels·side²)
    sat = torch.nn.functional.pad(energy.double().cumsum(0).cumsum(1), (1, 0, 1, 0))
    k = side - 1
    pooled = (sat[k::scale, k::scale] - sat[:-k:scale, k::scale] - sat[k::scale, :-k:scale] + sat[:-k:scale, :-k:scale])
    j, i = divmod(int(pooled.argmax()), pooled.shape[1])
    return i * scale, j * scale, i * scale + side, j * scale + side


HEADER = 16  # px of the label band above the grid's columns


def _fit(draw: Any, text: str, width: int) -> str:
    """`text` cut (with an ellipsis) to fit `width` pixels in the default font."""
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "…") > width:
        text = text[:-1]
    return text + "…" if text else ""


def grid_image(upscale: Upscale, folder: Path, *, side: int = 96, zoom: int = 2, max_images: int = 4,
               model_label: str = "model") -> Image.Image:
    """A labelled header, then rows of LR (nearest) / bicubic / model / HR crops, each enlarged `zoom`× with nearest."""
    from PIL import ImageDraw

    scale = _scale(upscale)
    rows = []
    for _, lr, hr in _pairs(Path(folder), scale)[:max_images]:
        box = _busiest_box(hr, side, scale)
        lbox = tuple(v // scale for v in box)
        crops = [lr.crop(lbox).resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.NEAREST),
                 methods(upscale)["bicubic"](lr).crop(box), upscale(lr).crop(box), hr.crop(box)]
        rows.append([c.resize((c.width * zoom, c.height * zoom), Image.Resampling.NEAREST) for c in crops])
    w, h, gap = rows[0][0].width, rows[0][0].height, 4
    canvas = Image.new("RGB", (4 * w + 3 * gap, HEADER + len(rows) * h + (len(rows) - 1) * gap), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate((f"input ({scale}x nearest)", "bicubic", model_label, "original")):
        draw.text((c * (w + gap) + 2, 2), _fit(draw, label, w - 4), fill=(0, 0, 0))
    for r, crops in enumerate(rows):
        for c, im in enumerate(crops):
            canvas.paste(im, (c * (w + gap), HEADER + r * (h + gap)))
    return canvas


def write_grid(upscale: Upscale, folder: Path, out: Path, *, model_label: str = "model") -> Path:
    """Write the comparison grid as a PNG, atomically."""
    import io

    buf = io.BytesIO()
    grid_image(upscale, folder, model_label=model_label).save(buf, format="PNG")
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)
