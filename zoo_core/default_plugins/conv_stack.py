"""Map an ordered list of source layers onto a module's weight layers, checking kind, stride, padding and shape."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ..errors import WeightsError
from ..interfaces import ConvertedWeights, WeightFormat

CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d)
WEIGHT_TYPES = CONV_TYPES + (nn.Linear, nn.PReLU)  # what ncnn files also carry (InnerProduct, PReLU)


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


def conv_layers(module: nn.Module, types: tuple[type, ...] = CONV_TYPES) -> list[tuple[str, nn.Module]]:
    """The module's conv and transposed-conv layers (or other `types`) in definition order."""
    return [(n, m) for n, m in module.named_modules() if isinstance(m, types)]


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
        want = tuple(getattr(layer, attr, ()))
        if got is not None and tuple(got) != want:
            raise WeightsError(
                f"{where} has {attr} {tuple(got)}, architecture '{arch_id}' layer '{name}' has {want}. "
                "Pass the right --arch."
            )
    if isinstance(layer, nn.PReLU) != (src.weight.dim() == 1):
        raise WeightsError(f"{where} is {'a PReLU' if src.weight.dim() == 1 else 'not a PReLU'}, architecture "
                           f"'{arch_id}' layer '{name}' is {type(layer).__name__}. Pass the right --arch.")
    if tuple(src.weight.shape) != tuple(layer.weight.shape):
        raise WeightsError(
            f"{where} weight has shape {tuple(src.weight.shape)}, architecture '{arch_id}' layer '{name}' "
            f"expects {tuple(layer.weight.shape)}. Pass the right --arch."
        )
    if src.bias is not None and src.bias.numel() != layer.weight.shape[1 if transposed else 0]:  # PReLU: no bias
        raise WeightsError(f"{where} bias has {src.bias.numel()} values, expected one per output channel.")


def _as_target(src: SourceLayer, layer: nn.Module) -> SourceLayer:
    """A fully connected layer (out, in) feeding a 1x1 conv (an SE block on a pooled map) is that conv."""
    w = src.weight
    if w.dim() == 2 and isinstance(layer, nn.Conv2d) and tuple(layer.weight.shape) == (*w.shape, 1, 1):
        return SourceLayer(name=src.name, weight=w[:, :, None, None], bias=src.bias, transposed=False)
    return src


def assign_layers(arch_id: str, module: nn.Module, found: list[SourceLayer], source: str,
                  types: tuple[type, ...] = CONV_TYPES) -> dict[str, torch.Tensor]:
    """Return a state_dict; refuse a file whose layer count, kinds or shapes differ from the architecture."""
    targets = conv_layers(module, types)
    if len(targets) != len(found):
        what = "conv" if types == CONV_TYPES else "weight"
        raise WeightsError(
            f"'{source}' has {len(found)} {what} layers but architecture '{arch_id}' has {len(targets)}; "
            "it is a different architecture. Pass the right --arch."
        )
    state: dict[str, torch.Tensor] = {}
    for (name, layer), src in zip(targets, found):
        src = _as_target(src, layer)
        _check_structure(arch_id, name, layer, src, source)
        state[f"{name}.weight"] = src.weight.float().contiguous()
        b = src.bias
        if getattr(layer, "bias", None) is not None:
            # A missing bias means zeros (the waifu2x JSON exporter writes it that way).
            state[f"{name}.bias"] = (torch.zeros(layer.bias.shape) if b is None else b).float().contiguous()
        elif b is not None and bool(torch.any(b != 0)):
            raise WeightsError(
                f"'{source}': layer '{src.name}' has a non-zero bias but '{arch_id}' layer '{name}' has none."
            )
    return state


class OneFileFormat(WeightFormat):
    """A format whose single file lists the conv layers in order: subclasses read() them, convert() maps them."""

    def read(self, path: Path) -> tuple[list[SourceLayer], dict[str, str]]:
        """The file's layers in order, and metadata to record in the converted file."""
        raise NotImplementedError

    def convert(self, arch_id: str, module: nn.Module, paths: Sequence[Path]) -> ConvertedWeights:
        """Read the one file's layers and map them onto the module's conv layers, in order."""
        if len(paths) != 1:
            raise WeightsError(f"{self.name} needs exactly one .{self.name} file, got {len(paths)}.")
        path = Path(paths[0])
        found, metadata = self.read(path)
        return ConvertedWeights(state_dict=assign_layers(arch_id, module, found, str(path)), metadata=metadata)

