"""Map an ordered list of (name, weight, bias) onto a module's conv layers, checking every shape."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import WeightsError

CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d)


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The module's conv and transposed-conv layers in definition order."""
    return [(n, m) for n, m in module.named_modules() if isinstance(m, CONV_TYPES)]


def assign_layers(
    arch_id: str, module: nn.Module, found: list[tuple[str, torch.Tensor, torch.Tensor | None]], source: str
) -> dict[str, torch.Tensor]:
    """Return a state_dict; refuse a file whose layer count or shapes differ from the architecture."""
    targets = conv_layers(module)
    if len(targets) != len(found):
        raise WeightsError(
            f"'{source}' has {len(found)} conv layers but architecture '{arch_id}' has {len(targets)}; "
            "it is a different architecture. Pass the right --arch."
        )
    state: dict[str, torch.Tensor] = {}
    for (name, layer), (src_name, w, b) in zip(targets, found):
        if tuple(w.shape) != tuple(layer.weight.shape):
            raise WeightsError(
                f"'{source}': layer '{src_name}' weight has shape {tuple(w.shape)}, architecture '{arch_id}' "
                f"layer '{name}' expects {tuple(layer.weight.shape)}. Pass the right --arch."
            )
        state[f"{name}.weight"] = w.float().contiguous()
        if layer.bias is not None:
            if b is None:
                b = torch.zeros(layer.bias.shape)  # a missing bias means zeros (waifu2x JSON does this)
            state[f"{name}.bias"] = b.float().contiguous()
        elif b is not None and bool(torch.any(b != 0)):
            raise WeightsError(
                f"'{source}': layer '{src_name}' has a non-zero bias but '{arch_id}' layer '{name}' has none."
            )
    return state
