"""The file's tensors in zoo's SPAN names: Conv3XC branches fused into one 3x3 conv, the input normalisation added."""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from .recognize import CONVS

RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K's, as SPAN's training code fixes it
IMG_RANGE = 255.0


def _bias(tensors: dict[str, torch.Tensor], name: str, channels: int) -> torch.Tensor:
    """A conv's bias, zeros when the file's convs have none (bias=False)."""
    return tensors.pop(name, torch.zeros(channels, dtype=torch.float64)).double()


def fused(tensors: dict[str, torch.Tensor], conv: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the 3x3 conv equal to sk(x) + conv.2(conv.1(conv.0(x))) on a zero-padded input (fp64)."""
    w1, w2, w3, sk = (tensors.pop(f"{conv}.{b}.weight").double() for b in ("conv.0", "conv.1", "conv.2", "sk"))
    b1, b2 = _bias(tensors, f"{conv}.conv.0.bias", w1.shape[0]), _bias(tensors, f"{conv}.conv.1.bias", w2.shape[0])
    b3, bsk = _bias(tensors, f"{conv}.conv.2.bias", w3.shape[0]), _bias(tensors, f"{conv}.sk.bias", sk.shape[0])
    # out[o] = Σ_b w3[o,b] (Σ_a w2[b,a,kh,kw] ⋆ (Σ_i w1[a,i] x_i + b1[a]) + b2[b]) + b3[o], plus the skip
    weight = torch.einsum("ob,bahw,ai->oihw", w3[:, :, 0, 0], w2, w1[:, :, 0, 0])
    bias = w3[:, :, 0, 0] @ (torch.einsum("bahw,a->b", w2, b1) + b2) + b3 + bsk
    return weight + F.pad(sk, (1, 1, 1, 1)), bias


def convert(tensors: dict[str, torch.Tensor], hyperparameters: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """zoo's state dict for SPAN from the recognised file's tensors."""
    tensors = dict(tensors)
    out: dict[str, torch.Tensor] = {}
    for conv in CONVS:
        if f"{conv}.sk.weight" in tensors:
            weight, bias = fused(tensors, conv)
        else:
            weight = tensors.pop(f"{conv}.eval_conv.weight").double()
            bias = _bias(tensors, f"{conv}.eval_conv.bias", weight.shape[0])
        out[f"{conv}.weight"], out[f"{conv}.bias"] = weight.float(), bias.float()
    for name in ("conv_cat", "upsampler.0"):
        out[f"{name}.weight"] = tensors.pop(f"{name}.weight").float()
        out[f"{name}.bias"] = _bias(tensors, f"{name}.bias", out[f"{name}.weight"].shape[0]).float()
    if hyperparameters.get("norm", True):
        out["norm.weight"] = (torch.eye(3) * IMG_RANGE).reshape(3, 3, 1, 1)
        out["norm.bias"] = -torch.tensor(RGB_MEAN) * IMG_RANGE
    return out
