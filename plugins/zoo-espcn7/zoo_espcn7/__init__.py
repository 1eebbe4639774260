"""zoo plugin: the seed's ESPCN_7 architecture, its trained weights and its card (cards/)."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """ESPCN_7: same-padded, so offset 0; seven 3×3 layers give a receptive radius of 7 input pixels."""
    from .model import build

    register(zoo.Architecture(
        id="espcn7",
        build=build,
        scale=2,
        offset=0,
        context=7,
        hyperparameters={"scale": 2, "selection_unit": False},
        default_card="espcn7",
        description="ESPCN_7 (seed): 6 SELU 3×3 convs 64…256 ch, optional selection units, PixelShuffle",
        paper="https://arxiv.org/abs/1609.05158",
    ))
