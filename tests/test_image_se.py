"""zoo_core.infer.image_se: which tile owns each SE feature position (exact, also for fractional strides)."""
from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from zoo_core.infer.image_se import owned, prepare_image


@pytest.mark.parametrize("stride, centre", [(Fraction(2), Fraction(13, 2)), (Fraction(2, 3), Fraction(61, 6)),
                                            (Fraction(4, 3), Fraction(31, 3)), (Fraction(1), Fraction(17))])
def test_tiles_on_the_grid_own_every_position_of_the_image_once(stride, centre):
    """Tiles own 12 px each on a 12-px grid (plus 24 px of context): each image feature position has one owner."""
    image, tile, ctx, n = 48, 12, 24, 80
    owners: dict[Fraction, int] = {}
    for start in range(0, image, tile):
        origin = start - ctx  # the tile tensor's first pixel, in image coordinates
        for i in torch.nonzero(owned(n, origin, stride, centre, (start, start + tile))).flatten().tolist():
            pos = origin + stride * i + centre  # the position's centre, in image pixels
            assert pos not in owners, pos
            owners[pos] = start
    grid = [-ctx + stride * k + centre for k in range(4 * n)]  # the whole image's feature grid
    assert sorted(owners) == [c for c in grid if 0 <= c < image]


def test_float_and_fraction_anchors_agree():
    a = owned(40, 6, Fraction(2), Fraction(6.5), (10, 30))
    b = owned(40, 6, Fraction(2), Fraction(13, 2), (10, 30))
    assert torch.equal(a, b) and 0 < int(a.sum()) < 40


def test_tta_is_refused_naming_the_family():
    with pytest.raises(Exception, match="somefamily models do not support --tta yet") as err:
        prepare_image(torch.nn.Linear(1, 1), lambda: iter(()), (), tta=True, family="somefamily")
    assert "\n" not in str(err.value)
