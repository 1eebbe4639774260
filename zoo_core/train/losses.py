"""Training losses: the seed's channel-weighted MSE, L1 and Charbonnier."""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..errors import ConfigError
from ..interfaces import LossSpec

RGB_WEIGHTS = (0.29891, 0.58661, 0.11448)  # waifu2x's RGB→grey weights, used to weight the MSE

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def weighted_mse(*, weights: Sequence[float] = RGB_WEIGHTS) -> LossFn:
    """mean((a − b)² · w_c), as the seed's WeightedMSELoss with size_average=True."""
    if len(weights) != 3:
        raise ConfigError(f"weighted-mse needs 3 channel weights, got {list(weights)}.")
    w = torch.tensor([float(x) for x in weights]).view(1, 3, 1, 1)

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((pred - target.detach()) ** 2 * w.to(pred.device, pred.dtype)).mean()

    return loss


def l1() -> LossFn:
    """Mean absolute error."""
    return lambda pred, target: (pred - target.detach()).abs().mean()


def charbonnier(*, eps: float = 1e-3) -> LossFn:
    """mean(sqrt((a − b)² + eps²)): a smooth L1."""
    if eps <= 0:
        raise ConfigError(f"charbonnier eps must be > 0, got {eps}.")
    return lambda pred, target: torch.sqrt((pred - target.detach()) ** 2 + eps * eps).mean()


def builtin_losses() -> list[LossSpec]:
    """The specs the built-in plugin registers."""
    return [
        LossSpec(name="weighted-mse", create=weighted_mse, description="Seed's MSE weighted [0.29891, 0.58661, 0.11448] on RGB."),
        LossSpec(name="l1", create=l1, description="Mean absolute error."),
        LossSpec(name="charbonnier", create=charbonnier, description="sqrt((a−b)²+eps²), eps=1e-3: a smooth L1."),
    ]
