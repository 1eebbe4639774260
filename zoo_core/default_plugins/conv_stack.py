"""Map an ordered list of source layers onto a module's conv layers, checking kind, stride, padding and shape."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import WeightsError

CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d)


@dataclass(frozen=True, kw_only=True)
class SourceLayer:
    """One conv layer read from a foreign file, already in PyTorch layout.

    `transposed`, `stride` and `padding` are None when the file does not say (then they are not checked).
    """

    name: str
    weight: torch.Tensor
    bias: torch.Tensor | None
    transposed: bool | None = None
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] | None = None


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The module's conv and transposed-conv layers in definition order."""
    return [(n, m) for n, m in module.named_modules() if isinstance(m, CONV_TYPES)]


def _kind(transposed: bool) -> str:
    return "transposed convolution" if transposed else "convolution"


def _check_structure(arch_id: str, name: str, layer: nn.Module, src: SourceLayer, source: str) -> None:
    transposed = isinstance(layer, nn.ConvTranspose2d)
    where = f"'{source}': layer '{src.name}'"
    if src.transposed is not None and src.transposed != transposed:
        raise WeightsError(
            f"{where} is a {_kind(src.transposed)}, architecture '{arch_id}' layer '{name}' is a "
            f"{_kind(transposed)}. Pass the right --arch."
        )
    for attr, got in (("stride", src.stride), ("padding", src.padding)):
        want = tuple(getattr(layer, attr))
        if got is not None and tuple(got) != want:
            raise WeightsError(
                f"{where} has {attr} {tuple(got)}, architecture '{arch_id}' layer '{name}' has {want}. "
                "Pass the right --arch."
            )
    if tuple(src.weight.shape) != tuple(layer.weight.shape):
        raise WeightsError(
            f"{where} weight has shape {tuple(src.weight.shape)}, architecture '{arch_id}' layer '{name}' "
            f"expects {tuple(layer.weight.shape)}. Pass the right --arch."
        )
    if src.bias is not None and src.bias.numel() != layer.weight.shape[1 if transposed else 0]:
        raise WeightsError(f"{where} bias has {src.bias.numel()} values, expected one per output channel.")


def assign_layers(arch_id: str, module: nn.Module, found: list[SourceLayer], source: str) -> dict[str, torch.Tensor]:
    """Return a state_dict; refuse a file whose layer count, kinds or shapes differ from the architecture."""
    targets = conv_layers(module)
    if len(targets) != len(found):
        raise WeightsError(
            f"'{source}' has {len(found)} conv layers but architecture '{arch_id}' has {len(targets)}; "
            "it is a different architecture. Pass the right --arch."
        )
    state: dict[str, torch.Tensor] = {}
    for (name, layer), src in zip(targets, found):
        _check_structure(arch_id, name, layer, src, source)
        state[f"{name}.weight"] = src.weight.float().contiguous()
        b = src.bias
        if layer.bias is not None:
            # A missing bias means zeros (the waifu2x JSON exporter writes it that way).
            state[f"{name}.bias"] = (torch.zeros(layer.bias.shape) if b is None else b).float().contiguous()
        elif b is not None and bool(torch.any(b != 0)):
            raise WeightsError(
                f"'{source}': layer '{src.name}' has a non-zero bias but '{arch_id}' layer '{name}' has none."
            )
    return state
