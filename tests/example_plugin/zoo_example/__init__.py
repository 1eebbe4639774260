"""An example third-party plugin: one architecture, its card (cards/) and weights shipped in the package."""
from __future__ import annotations

import zoo


@zoo.hookimpl
def register_architectures(register):
    """A 3×3 same-padded conv: offset 0, receptive radius 1 (`zoo plugins --check` measures it).

    The hyperparameters are build()'s keyword-only parameters; cards/*.yaml are registered without a hook.
    """
    register(zoo.Architecture(id="example-tiny", build="zoo_example.model:build", scale=2, offset=0, context=1,
                              default_card="example-tiny-nearest"))
