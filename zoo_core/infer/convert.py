"""Conversions between PIL/numpy images and CHW float tensors, with waifu2x's rounding."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def array_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """HxWxC uint8 or uint16 → CHW float32 in [0,1]."""
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(scale)


def tensor_to_array(t: torch.Tensor, dtype: type = np.uint8) -> np.ndarray:
    """CHW float → HxWxC integers, rounded as floor(clamp(x,0,1)·max + 0.5) like the original."""
    peak = 65535.0 if dtype == np.uint16 else 255.0
    q = torch.floor(t.clamp(0, 1).mul(peak).add(0.5))
    return q.permute(1, 2, 0).numpy().astype(dtype)


def pil_to_array(img: Image.Image) -> np.ndarray:
    """A PIL image in RGB/RGBA as HxWxC uint8."""
    arr = np.asarray(img)
    return arr[:, :, None] if arr.ndim == 2 else arr
