"""Upscaler: a loaded network plus the tiler, taking PIL images, numpy arrays, Pictures or paths."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
import torch
from PIL import Image

from ..architecture import Geometry
from ..capabilities import image_statistics
from ..cards import Card
from ..tile_plan import TilePlanner
from ..errors import ImageError, WeightsError, ZooError
from .alpha import extend_colour
from .modes import Picture, picture_from_pil, pil_from_picture
from .tiler import iter_tiles, run_tiled
from .tiling import checked_sizes, default_batch, default_tile, layout  # noqa: F401  (re-exported: default_*)

ImageLike = Union[Image.Image, np.ndarray, str, os.PathLike]
Tick = Callable[[int], None]


ABSURD = 1e4  # outputs are colours near [0, 1]; beyond this the weights are broken (1e30 weights: all white)


class NonFiniteOutput(WeightsError):
    """The model gave NaN or infinite values: an error naming the card and weights, never an image."""


def describe_weights(card: Card) -> str:
    """The card's weights as the card names them (a Hub file or a packaged file)."""
    w = card.weights
    return f"{w['repo_id']}/{w['filename']}" if card.on_hub else w.get("file", "?")


def to_pixels(x: torch.Tensor, dtype: type) -> np.ndarray:
    """CHW float → HxWxC integers, rounded as train/metrics.quantize rounds (floor(clamp(x,0,1)·max + 0.5))."""
    peak = np.float32(65535.0 if dtype == np.uint16 else 255.0)
    # numpy, single-threaded on purpose: torch's OpenMP on tile-sized element-wise work costs more than
    # it saves, a lot more on a busy machine (benchmarks/README.md, "Inference speed"). Truncation is
    # floor here because the clipped values are >= 0.
    a = np.clip(x.numpy().transpose(1, 2, 0), 0, 1)
    a *= peak  # in place: the same float32 arithmetic, two output-sized arrays fewer
    a += np.float32(0.5)
    return a.astype(dtype)


def take(src: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """src[rows][:, cols]: a view along an axis whose indices are one run (a tile off the border), else a copy."""
    part = src[rows[0]:rows[-1] + 1] if rows[-1] - rows[0] == len(rows) - 1 else src[rows]
    return part[:, cols[0]:cols[-1] + 1] if cols[-1] - cols[0] == len(cols) - 1 else part[:, cols]


@dataclass
class Upscaler:
    """Runs one model over whole images; `upscale` returns the same kind of image it was given."""

    card: Card
    geometry: Geometry
    runner: Callable[[torch.Tensor], torch.Tensor]
    backend: str
    device: str
    precision: str
    tile_size: int | None = None
    batch_size: int | None = 1
    weights: str = ""  # where the weights came from, for messages
    planner: TilePlanner | None = None  # grows the default tile where an image leaves the room (None: never)

    def __post_init__(self) -> None:
        """Check the sizes (zoo.load's are already checked the same way; None keeps the backend's preference)."""
        self.tile_size, self.batch_size = checked_sizes(self.tile_size, self.batch_size)

    def _checked(self, batch: torch.Tensor) -> torch.Tensor:
        """The runner's output, refused when it holds NaN or infinity (it would become black or white)."""
        out = self.runner(batch)
        low, high = torch.aminmax(out)  # one pass; NaN anywhere makes both NaN, and the test False
        if not (bool(low > -ABSURD) and bool(high < ABSURD)):
            where = self.weights or describe_weights(self.card)
            raise NonFiniteOutput(
                f"Model '{self.card.name}' (weights {where}) produced NaN, infinite or absurd values, so no image was "
                f"written. The weights are damaged or badly trained: run 'zoo fetch {self.card.name}' or check "
                "the --weights file.")
        return out

    def _tile_runner(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """`_checked`, carrying the runner's prepare_image hook (image-wide statistics) to the tiler."""
        prepare = image_statistics(self.runner)
        if prepare is None:
            return self._checked

        def checked(batch: torch.Tensor) -> torch.Tensor:
            return self._checked(batch)
        checked.prepare_image = prepare  # type: ignore[attr-defined]
        return checked

    @property
    def scale(self) -> int:
        """The model's upscaling factor."""
        return self.geometry.scale

    def tile_for(self, h: int, w: int, tile_size: int | None = None) -> int:
        """The tile an h×w image runs in (`layout`'s first half)."""
        return self.layout(h, w, tile_size)[0]

    def layout(self, h: int, w: int, tile_size: int | None = None) -> tuple[int, int]:
        """(tile, batch) for an h×w image, as the tiling policy decides (infer/tiling.py)."""
        return layout(h, w, given=tile_size, tile=self.tile_size, batch=self.batch_size, device=self.device,
                      planner=self.planner, gathers=image_statistics(self.runner) is not None)

    def upscale_tensor(self, x: torch.Tensor, *, tile_size: int | None = None, tta: bool = False,
                       on_tile: Tick | None = None) -> torch.Tensor:
        """CHW float in [0,1] → CHW float, tiled exactly."""
        tile, batch = self.layout(x.shape[-2], x.shape[-1], tile_size)
        return run_tiled(self._tile_runner(), x, self.geometry, tile=tile, batch=batch, tta=tta, on_tile=on_tile)

    def _stream(self, src: np.ndarray, out: np.ndarray, *, layout: tuple[int, int], tta: bool,
                on_tile: Tick | None) -> None:
        """Upscale HxWxC (C 1 or 3) integers into `out`, one batch of tiles at a time (no full float copy)."""
        peak = float(np.iinfo(src.dtype).max)
        grey = src.shape[2] == 1

        def read(rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(np.divide(take(src, rows, cols), np.float32(peak), dtype=np.float32)).permute(2, 0, 1)
            return t.expand(3, -1, -1) if grey else t

        for (t, b, l, r), part in iter_tiles(self._tile_runner(), read, src.shape[:2], self.geometry, tile=layout[0],
                                             batch=layout[1], tta=tta, on_tile=on_tile):
            out[t:b, l:r] = to_pixels(part.mean(0, keepdim=True) if grey else part, out.dtype.type)

    def upscale_array(self, arr: np.ndarray, *, tile_size: int | None = None, tta: bool = False,
                      on_tile: Tick | None = None) -> np.ndarray:
        """HxWxC (C: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) uint8/uint16 → upscaled array, same dtype and channels.

        Alpha: colour is first extended into fully transparent pixels, then alpha is upscaled by the
        model as a grey image; a fully opaque alpha is not run through the model.
        """
        if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or arr.dtype not in (np.uint8, np.uint16):
            raise ImageError(f"Expected an HxWxC uint8/uint16 array with C in 1..4, got shape {arr.shape} "
                             f"dtype {arr.dtype}.")
        h, w, c = arr.shape
        if h == 0 or w == 0:
            raise ImageError(f"Image has no pixels (shape {arr.shape}).")
        s, layout = self.scale, self.layout(h, w, tile_size)
        out = np.empty((h * s, w * s, c), dtype=arr.dtype)
        colour_channels = c - (c in (2, 4))
        colour = arr[:, :, :colour_channels]
        if c in (2, 4):
            alpha = arr[:, :, c - 1]
            peak = np.iinfo(arr.dtype).max
            if bool(np.all(alpha == peak)):
                out[:, :, c - 1] = peak
            else:
                colour = extend_colour(colour, alpha, 2 * self.geometry.context + 2)
                self._stream(np.ascontiguousarray(arr[:, :, c - 1:]), out[:, :, c - 1:], layout=layout, tta=tta,
                             on_tile=on_tile)
        self._stream(np.ascontiguousarray(colour), out[:, :, :colour_channels], layout=layout, tta=tta,
                     on_tile=on_tile)
        return out

    def upscale_picture(self, pic: Picture, *, tile_size: int | None = None, tta: bool = False,
                        on_tile: Tick | None = None) -> Picture:
        """A Picture upscaled; its colour metadata is carried over."""
        out = self.upscale_array(pic.pixels, tile_size=tile_size, tta=tta, on_tile=on_tile)
        return Picture(pixels=out, icc=pic.icc, gamma=pic.gamma, exif=pic.exif, extra=dict(pic.extra))

    def upscale(self, img: ImageLike, *, tile_size: int | None = None, tta: bool = False,
                on_tile: Tick | None = None) -> Any:
        """Upscale a PIL image, an HxWxC numpy array or a path (one pass of the model).

        Returns an array for an array, else a PIL image (16-bit colour, which PIL cannot hold, comes
        back as 8 bits: use `upscale_picture` or `zoo upscale` to keep 16 bits). A fully opaque alpha
        channel is dropped; palette and CMYK images come back as RGB(A).
        """
        if isinstance(img, np.ndarray):
            return self.upscale_array(img, tile_size=tile_size, tta=tta, on_tile=on_tile)
        if isinstance(img, (str, os.PathLike)):
            from .imageio import read_picture

            pic = read_picture(Path(img))
        elif isinstance(img, Image.Image):
            pic = picture_from_pil(img)
        else:
            raise ZooError(f"upscale() takes a PIL image, a numpy array or a path, got {type(img).__name__}.")
        from .modes import drop_opaque_alpha

        return pil_from_picture(self.upscale_picture(drop_opaque_alpha(pic), tile_size=tile_size, tta=tta,
                                                     on_tile=on_tile))
