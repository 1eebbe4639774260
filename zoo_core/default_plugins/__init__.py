"""Built-in plugin: the commands, weight formats, torch and ncnn backends, losses and degradations.

No cards: those ship with their architecture's plugin.

It is loaded through the `zoo` entry point like any third-party plugin.
"""
from __future__ import annotations

from ..hookspecs import hookimpl
from ..interfaces import LossSpec
from ..lazy import LazyObject, lazy_function


@hookimpl
def register_commands(register):
    """The built-in sub-commands (list, info, upscale, train…), through the same hook as a plugin's."""
    from ..cli import builtin_commands

    for command in builtin_commands():
        register(command)


# Named here, imported on first use (their modules import torch): `zoo list` and `zoo plugins` stay light.
FORMATS = (
    ("ncnn", "formats_ncnn:NcnnFormat",
     "ncnn .param + .bin (fp32, fp16 or table-quantized weights): conv/deconv/fc/PReLU networks"),
    ("json", "formats_json:Waifu2xJsonFormat", "waifu2x JSON export (Lua exporter: one object per conv/deconv layer)"),
    ("onnx", "formats_onnx:OnnxFormat", "ONNX Conv/ConvTranspose initializers, fp32 or fp16 (needs the 'onnx' package)"),
)
BACKENDS = (
    ("torch", "backend_torch:TorchBackend", "PyTorch eager (reference; any architecture; cpu/cuda; fp32/bf16/fp16)"),
    ("ncnn", "backend_ncnn:NcnnBackend",
     "ncnn CPU engine (PyPI ncnn) fed by a direct exporter; fp32 within 1e-5 of torch; tiles in parallel"),
)
LOSSES = (
    ("weighted-mse", "weighted_mse", "Seed's MSE weighted [0.29891, 0.58661, 0.11448] on RGB."),
    ("l1", "l1", "Mean absolute error."),
    ("charbonnier", "charbonnier", "sqrt((a−b)²+eps²), eps=1e-3: a smooth L1."),
)


@hookimpl
def register_weight_formats(register):
    """ncnn, waifu2x JSON and ONNX converters for plain conv stacks."""
    for name, target, description in FORMATS:
        register(LazyObject(f"{__name__}.{target}", name=name, description=description))


@hookimpl
def register_backends(register):
    """The PyTorch reference backend and the ncnn CPU backend (the default where it is exact)."""
    for name, target, description in BACKENDS:
        register(LazyObject(f"{__name__}.{target}", name=name, description=description))


@hookimpl
def register_degradations(register):
    """seed-jpeg (the seed's bicubic + JPEG) and waifu2x (random filter, blur, 1–3 JPEG passes)."""
    from ..train.degradations import builtin_degradations

    for spec in builtin_degradations():
        register(spec)


@hookimpl
def register_losses(register):
    """weighted-mse (the seed's), l1 and charbonnier (zoo_core.train.losses, imported when a loss is made)."""
    for name, function, description in LOSSES:
        register(LossSpec(name=name, create=lazy_function(f"zoo_core.train.losses:{function}"), description=description))


@hookimpl
def register_datasets(register):
    """debian-art: Ren'Py demo illustrations and curated Open Clip Art, from Debian packages."""
    from ..data.builtin import DEBIAN_ART

    register(DEBIAN_ART)
