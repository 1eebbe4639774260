"""Small upscalers for the inference tests: fixed-weight interpolators and random-weight registered architectures."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

import zoo
from zoo_core.architecture import Geometry
from zoo_core.capabilities import image_statistics
from zoo_core.cards import parse_card
from zoo_core.infer.upscaler import Upscaler

CARD = parse_card({
    "name": "test-model", "architecture": "test", "task": {"scale": 2, "noise_level": -1, "style": "art"},
    "weights": {"file": "none.safetensors", "sha256": "0" * 64}, "license": "MIT", "description": "test",
})


def bilinear_runner(scale: int = 2) -> Callable[[torch.Tensor], torch.Tensor]:
    """A smooth 'model': bilinear enlargement (receptive radius 1 input pixel)."""
    return lambda x: F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


def make_upscaler(runner: Callable[[torch.Tensor], torch.Tensor], *, scale: int = 2, context: int = 1,
                  offset: int = 0, size_multiple: int = 1, tile: int | None = None, batch: int = 1) -> Upscaler:
    """An Upscaler around any runner, with the given geometry."""
    geo = Geometry(scale=scale, in_channels=3, out_channels=3, offset=offset, context=context,
                   size_multiple=size_multiple)
    return Upscaler(card=CARD, geometry=geo, runner=runner, backend="test", device="cpu", precision="fp32",
                    tile_size=tile, batch_size=batch)


def random_model(arch_id: str, seed: int = 0) -> tuple[torch.nn.Module, Geometry]:
    """A registered architecture with random weights (exactness does not depend on the weights)."""
    arch = zoo.get_registry().architecture(arch_id)
    torch.manual_seed(seed)
    module = arch.create().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.05)
    return module, arch.geometry()


def runner_of(module: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Inference without autograd."""
    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(x)
    prepare = image_statistics(module)
    if prepare is not None:  # image-wide statistics, as the torch backend forwards them
        run.prepare_image = prepare  # type: ignore[attr-defined]
    return run


def nearest() -> Upscaler:
    """The example plugin's card: exact 2× nearest-neighbour, so expected outputs are known."""
    return zoo.load("example-tiny")
