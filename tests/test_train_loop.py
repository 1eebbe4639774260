"""The Trainer on hand-made parts: events in order with their steps, resume at the checkpoint's step, capabilities."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

import zoo
from zoo_core.architecture import Geometry
from zoo_core.train.config import OptimConfig, TrainConfig, from_dict
from zoo_core.train.parts import build_parts
from zoo_core.train.protocols import Checkpointable, Initialisable
from zoo_core.train.trainer import Checkpoints, Trainer, Validation
from zoo_core.train.validation import ValPair

from test_train import tiny

GEOMETRY = Geometry(scale=2, in_channels=3, out_channels=3, offset=0, context=1)


class Cycle(Dataset):
    """Four fixed (LR, HR) pairs; the trainer's sampler asks for global sample numbers, so they wrap."""

    def __init__(self) -> None:
        self.hr = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        self.lr = F.avg_pool2d(self.hr, 2)

    def __len__(self) -> int:
        return len(self.hr)

    def __getitem__(self, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.lr[g % 4], self.hr[g % 4]


def optim(tmp_path: Path, **over) -> OptimConfig:
    """test_train's tiny settings: 4 steps, batch 2, EMA 0.5, grad clip 1."""
    return from_dict(TrainConfig, tiny(tmp_path, **over)).optim


def trainer(run_dir: Path, o: OptimConfig, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))
    data = Cycle()
    bicubic = F.interpolate(data.lr[:1], scale_factor=2, mode="bicubic")[0]
    val = Validation([ValPair("a", data.lr[0], data.hr[0], bicubic)], GEOMETRY, every=2)
    return Trainer(model, data, nn.MSELoss(), o, validation=val, checkpoints=Checkpoints(run_dir, every=2))


def test_events_fire_in_order_with_their_steps(tmp_path: Path) -> None:
    t, seen = trainer(tmp_path / "run", optim(tmp_path)), []
    t.add_callback("on_step", lambda s: seen.append(("step", s.step)))
    t.add_callback("on_validate", lambda s, result: seen.append(("validate", s.step, "gain_db" in result)))
    t.add_callback("on_checkpoint", lambda s, path: seen.append(("checkpoint", s.step, path.name)))

    class Last:  # an object with a subset of the on_* methods, as the built-in callbacks are
        def on_end(self, s) -> None:
            seen.append(("end", s.step))

    t.add_callbacks([Last()])
    t.add_callback("on_end", lambda s: seen.append(("end after", s.step)))
    state = t.run(resume=False)
    rounds = [[("step", n - 1), ("step", n), ("validate", n, True), ("checkpoint", n, f"ckpt-{n:08d}.safetensors")]
              for n in (2, 4)]
    assert seen == rounds[0] + rounds[1] + [("end", 4), ("end after", 4)]
    assert [h["step"] for h in state.history] == [2, 4] and state.lr > 0 and state.model is t.model
    with pytest.raises(zoo.ConfigError, match="Unknown trainer event 'on_stp'; expected one of on_step, "):
        t.add_callback("on_stp", print)


def test_a_resumed_trainer_continues_at_the_checkpoints_step(tmp_path: Path) -> None:
    straight = trainer(tmp_path / "a", optim(tmp_path)).run(resume=False)
    half = trainer(tmp_path / "b", optim(tmp_path, steps=2)).run(resume=False)
    loaded = trainer(tmp_path / "b", optim(tmp_path, steps=2), seed=1).run()  # nothing left: weights as saved
    assert loaded.step == 2
    for k, v in half.model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k]), k
        assert torch.equal(half.ema[k], loaded.ema[k]), k
    resumed, steps = trainer(tmp_path / "b", optim(tmp_path), seed=1), []
    resumed.add_callback("on_step", lambda s: steps.append(s.step))
    state = resumed.run()
    assert steps == [3, 4] and [h["step"] for h in state.history] == [2, 4]
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, state.model.state_dict()[k]), k


def test_capabilities_are_protocols_and_a_missing_one_is_named(tmp_path: Path) -> None:
    reg = zoo.get_registry()
    espcn, drrn = reg.architecture("espcn7").create(), reg.architecture("drrn-lite").create()
    assert isinstance(espcn, Initialisable) and not isinstance(drrn, Initialisable)
    assert isinstance(drrn, Checkpointable) and not isinstance(nn.Conv2d(3, 3, 1), Checkpointable)
    data = tiny(tmp_path, checkpointing=True)
    data["model"] = {"architecture": "upconv7"}
    with pytest.raises(zoo.ConfigError, match="optim.checkpointing is true, but architecture 'upconv7' has no "):
        build_parts(from_dict(TrainConfig, data), with_data=False)
    with pytest.raises(zoo.ConfigError, match="but architecture 'Sequential' has no forward_checkpoint"):
        trainer(tmp_path / "run", optim(tmp_path, checkpointing=True))
