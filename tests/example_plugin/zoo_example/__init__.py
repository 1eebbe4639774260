"""An example third-party plugin: one architecture, one card, weights shipped in the package."""
from __future__ import annotations

from importlib import resources

import torch
from torch import nn

import zoo


class TinySR(nn.Module):
    """One 3×3 conv to 3·r² channels and a PixelShuffle: the smallest useful upscaler."""

    def __init__(self, *, scale: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def build(*, scale: int = 2) -> TinySR:
    """Keyword-only, so a misspelled hyperparameter fails."""
    return TinySR(scale=scale)


@zoo.hookimpl
def register_architectures(register):
    """A 3×3 same-padded conv: offset 0, receptive radius 1."""
    register(zoo.Architecture(id="example-tiny", build=build, scale=2, offset=0, context=1,
                              hyperparameters={"scale": 2}, default_card="example-tiny-nearest"))


@zoo.hookimpl
def register_model_cards(register):
    """The card lives inside this package."""
    register(str(resources.files(__name__) / "example-tiny-nearest.yaml"))
