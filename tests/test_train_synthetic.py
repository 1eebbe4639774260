"""The built-in synthetic anime-style dataset: deterministic, varied, with flat areas and dark lines."""
from __future__ import annotations

import numpy as np
import pytest

from zoo_core.train.synthetic import synthetic_image, synthetic_images


def test_deterministic_and_seeds_differ() -> None:
    a, b = np.asarray(synthetic_image(11, 96)), np.asarray(synthetic_image(11, 96))
    assert a.shape == (96, 96, 3) and np.array_equal(a, b)
    assert not np.array_equal(a, np.asarray(synthetic_image(12, 96)))
    assert [im.size for im in synthetic_images(3, size=40, seed=5)] == [(40, 40)] * 3


@pytest.mark.slow
def test_looks_like_cel_art() -> None:
    """Much flat colour (many near-zero gradients), some dark line pixels, and antialiased edges."""
    flat, dark, levels = [], [], []
    for seed in range(6):
        y = np.asarray(synthetic_image(seed, 128).convert("L"), dtype=np.int16)
        flat.append(np.mean(np.abs(np.diff(y, axis=1)) <= 1))
        dark.append(np.mean(y < 60))
        levels.append(len(np.unique(y)))
    assert np.mean(flat) > 0.45  # large flat (or gently graded) regions
    assert max(dark) > 0.005  # outlines / text / strands
    assert min(levels) > 20  # antialiasing and shading give intermediate values
