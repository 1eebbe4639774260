"""zoo plugin: DRRN-lite, its trained weights and its card (cards/)."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """DRRN-lite: same-padded; receptive radius 2·units·R+2 input pixels (entry, 2 per recursion, exit)."""
    register(zoo.Architecture(
        id="drrn-lite",
        build="zoo_drrn.model:build",  # imported when a network is built, so `zoo list` does not load torch
        scale=2,
        offset=0,
        context=lambda hp: 2 * int(hp["recursions"]) * int(hp["units"]) + 2,
        default_card="drrn-lite",
        description="DRRN-lite: shared-weight recursive residual unit at LR resolution + PixelShuffle + bicubic skip",
        paper="https://openaccess.thecvf.com/content_cvpr_2017/papers/Tai_Image_Super-Resolution_via_CVPR_2017_paper.pdf",
    ))
