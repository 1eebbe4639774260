"""Upscaler: a loaded network plus the tiler, taking PIL images, numpy arrays or paths."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
import torch
from PIL import Image

from ..architecture import Geometry
from ..cards import Card
from ..errors import ImageError, ZooError
from .convert import array_to_tensor, pil_to_array, tensor_to_array
from .tiler import run_tiled, run_tta

ImageLike = Union[Image.Image, np.ndarray, str, os.PathLike]


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
    batch_size: int = 1

    @property
    def scale(self) -> int:
        """The model's upscaling factor."""
        return self.geometry.scale

    def upscale_tensor(self, x: torch.Tensor, *, tile_size: int | None = None, tta: bool = False) -> torch.Tensor:
        """CHW float in [0,1] → CHW float, tiled exactly."""
        kw: dict[str, Any] = {"tile": tile_size or self.tile_size, "batch": self.batch_size}
        return (run_tta if tta else run_tiled)(self.runner, x, self.geometry, **kw)

    def upscale_array(self, arr: np.ndarray, *, tile_size: int | None = None, tta: bool = False) -> np.ndarray:
        """HxWxC (C = 1, 3 or 4) uint8/uint16 → the upscaled array of the same dtype and channels."""
        if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.dtype not in (np.uint8, np.uint16):
            raise ImageError(
                f"Expected an HxWxC uint8/uint16 array with C in (1, 3, 4), got shape {arr.shape} dtype {arr.dtype}."
            )
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ImageError(f"Image has no pixels (shape {arr.shape}).")
        x = array_to_tensor(arr)
        rgb, alpha = x[:3] if x.shape[0] >= 3 else x[:1].expand(3, -1, -1), x[3:] if x.shape[0] == 4 else None
        out = self.upscale_tensor(rgb.contiguous(), tile_size=tile_size, tta=tta)
        if arr.shape[2] == 1:
            out = out.mean(0, keepdim=True)
        if alpha is not None:  # the model upscales alpha too, as a grey image
            a = self.upscale_tensor(alpha.expand(3, -1, -1).contiguous(), tile_size=tile_size, tta=tta)
            out = torch.cat([out, a.mean(0, keepdim=True)])
        return tensor_to_array(out, arr.dtype.type)

    def upscale(self, img: ImageLike, *, tile_size: int | None = None, tta: bool = False) -> Any:
        """Upscale a PIL image, an HxWxC numpy array or a path; returns an array for an array, else a PIL image."""
        if isinstance(img, np.ndarray):
            return self.upscale_array(img, tile_size=tile_size, tta=tta)
        if isinstance(img, (str, os.PathLike)):
            from .imageio import read_image

            img = read_image(Path(img))
        if not isinstance(img, Image.Image):
            raise ZooError(f"upscale() takes a PIL image, a numpy array or a path, got {type(img).__name__}.")
        from .imageio import upscale_pil

        return upscale_pil(self, img, tile_size=tile_size, tta=tta)
