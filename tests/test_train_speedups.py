"""Opt-in training speedups (optim.fused_adamw, optim.foreach_ema): off by default, same maths, resumable."""
from __future__ import annotations

from pathlib import Path

import torch

from zoo_core.train.config import OptimConfig, TrainConfig, from_dict
from zoo_core.train.optim import ema_update
from zoo_core.train.trainer import train

from test_train import tiny


def spy_adamw(monkeypatch) -> list[dict]:
    """Record the keyword arguments of every AdamW the trainer builds."""
    seen: list[dict] = []
    real = torch.optim.AdamW

    def record(params, **kw):
        seen.append(kw)
        return real(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", record)
    return seen


def test_defaults_keep_todays_optimiser_and_ema(tmp_path: Path, monkeypatch) -> None:
    o = OptimConfig()
    assert (o.fused_adamw, o.foreach_ema) == (False, False)
    seen = spy_adamw(monkeypatch)
    train(from_dict(TrainConfig, tiny(tmp_path)), resume=False)
    assert seen and "fused" not in seen[0] and "foreach" not in seen[0]  # torch's own default, as before


def test_foreach_ema_is_bitwise_the_loop() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))  # a long buffer too
    model.train()(torch.rand(2, 3, 8, 8))
    loop = {k: v.detach().clone() + 0.5 for k, v in model.state_dict().items()}
    fast = {k: v.clone() for k, v in loop.items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    ema_update(loop, model, 0.993)
    ema_update(fast, model, 0.993, foreach=True)
    for k in loop:
        assert torch.equal(loop[k], fast[k]), k
    assert not torch.equal(loop["0.weight"], model.state_dict()["0.weight"])  # it averaged, not copied


def test_fused_adamw_and_foreach_ema_train_alike_and_resume_exactly(tmp_path: Path, monkeypatch) -> None:
    seen = spy_adamw(monkeypatch)
    ref = train(from_dict(TrainConfig, tiny(tmp_path / "ref")), resume=False)
    fast = train(from_dict(TrainConfig, tiny(tmp_path / "a", fused_adamw=True, foreach_ema=True)), resume=False)
    assert seen[-1].get("fused") is True
    for k, v in ref.model.state_dict().items():  # fused AdamW may round differently, never differently in kind
        assert torch.allclose(v, fast.model.state_dict()[k], atol=1e-5), k
    half = tiny(tmp_path / "b", fused_adamw=True, foreach_ema=True)
    half["optim"]["steps"] = 2
    train(from_dict(TrainConfig, half))
    resumed = train(from_dict(TrainConfig, tiny(tmp_path / "b", fused_adamw=True, foreach_ema=True)))
    assert resumed.step == 4
    for k, v in fast.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    for k, v in fast.ema.items():
        assert torch.equal(v, resumed.ema[k]), k
