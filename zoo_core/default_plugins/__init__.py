"""Built-in plugin: the commands, weight formats, torch and ncnn backends, losses and degradations.

No cards: those ship with their architecture's plugin.

It is loaded through the `zoo` entry point like any third-party plugin.
"""
from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def register_commands(register):
    """The built-in sub-commands (list, info, upscale, train…), through the same hook as a plugin's."""
    from ..cli import builtin_commands

    for command in builtin_commands():
        register(command)


@hookimpl
def register_weight_formats(register):
    """ncnn, waifu2x JSON and ONNX converters for plain conv stacks."""
    from .formats_json import Waifu2xJsonFormat
    from .formats_ncnn import NcnnFormat
    from .formats_onnx import OnnxFormat

    register(NcnnFormat())
    register(Waifu2xJsonFormat())
    register(OnnxFormat())


@hookimpl
def register_backends(register):
    """The PyTorch reference backend and the ncnn CPU backend (the default where it is exact)."""
    from .backend_ncnn import NcnnBackend
    from .backend_torch import TorchBackend

    register(TorchBackend())
    register(NcnnBackend())


@hookimpl
def register_degradations(register):
    """seed-jpeg (the seed's bicubic + JPEG) and waifu2x (random filter, blur, 1–3 JPEG passes)."""
    from ..train.degradations import builtin_degradations

    for spec in builtin_degradations():
        register(spec)


@hookimpl
def register_losses(register):
    """weighted-mse (the seed's), l1 and charbonnier."""
    from ..train.losses import builtin_losses

    for spec in builtin_losses():
        register(spec)
