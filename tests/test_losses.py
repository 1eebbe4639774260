"""Losses: the seed's weighted MSE, L1 and Charbonnier, registered through the hook."""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo_core.train.losses import RGB_WEIGHTS


def make(name: str, **options):
    return zoo.get_registry().loss(name).create(**options)


def test_all_registered_as_loss_specs() -> None:
    reg = zoo.get_registry()
    for name in ("weighted-mse", "l1", "charbonnier"):
        assert isinstance(reg.loss(name), zoo.LossSpec)


def test_weighted_mse_matches_the_seed_formula() -> None:
    torch.manual_seed(0)
    a, b = torch.rand(2, 3, 5, 7), torch.rand(2, 3, 5, 7)
    w = torch.tensor(RGB_WEIGHTS).view(1, 3, 1, 1)
    assert torch.allclose(make("weighted-mse")(a, b), ((a - b) ** 2 * w).mean())


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_weighted_mse_weights_each_channel(channel: int) -> None:
    a, b = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    a[:, channel] = 1.0
    assert make("weighted-mse")(a, b).item() == pytest.approx(RGB_WEIGHTS[channel] / 3, rel=1e-6)


def test_l1_and_charbonnier_values_and_gradients() -> None:
    a = torch.full((1, 3, 2, 2), 0.5, requires_grad=True)
    b = torch.zeros(1, 3, 2, 2)
    assert make("l1")(a, b).item() == pytest.approx(0.5)
    ch = make("charbonnier", eps=1e-3)(a, b)
    assert ch.item() == pytest.approx((0.25 + 1e-6) ** 0.5, rel=1e-6)
    ch.backward()
    assert a.grad is not None and torch.all(a.grad > 0)
    assert make("charbonnier")(b, b).item() == pytest.approx(1e-3)  # eps at zero error, smooth there


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(zoo.ConfigError):
        make("weighted-mse", weights=[1.0, 2.0])
    with pytest.raises(zoo.ConfigError):
        make("charbonnier", eps=0)
