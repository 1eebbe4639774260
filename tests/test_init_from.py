"""model.init_from: a run starts from saved weights of the same architecture and hyperparameters."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo_core.train.init_from import init_from
from zoo_core.weights.safetensors_io import save_safetensors


def _saved(tmp_path: Path, arch_id: str, hp: dict) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(3)
    module = zoo.get_registry().architecture(arch_id).create(hp)
    path = tmp_path / "w.safetensors"
    save_safetensors(path, module.state_dict(), {"architecture": arch_id, "hyperparameters": json.dumps(hp)})
    return path, module


def test_init_from_loads_the_weights(tmp_path: Path) -> None:
    arch = zoo.get_registry().architecture("drrn-lite")
    hp = arch.resolve_hyperparameters()
    path, saved = _saved(tmp_path, "drrn-lite", hp)
    torch.manual_seed(4)
    fresh = arch.create(hp)
    assert not all(torch.equal(fresh.state_dict()[k], v) for k, v in saved.state_dict().items())
    init_from(fresh, str(path), arch_id="drrn-lite", hyperparameters=hp)
    for k, v in saved.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k


def test_init_from_refuses_another_architecture_or_shape(tmp_path: Path) -> None:
    arch = zoo.get_registry().architecture("drrn-lite")
    hp = arch.resolve_hyperparameters()
    path, _ = _saved(tmp_path, "drrn-lite", hp)
    with pytest.raises(zoo.ConfigError, match="holds weights of 'drrn-lite', but model.architecture is 'espcn7'"):
        init_from(zoo.get_registry().architecture("espcn7").create(), str(path), arch_id="espcn7",
                  hyperparameters={})
    other = {**hp, "units": hp["units"] + 1}
    with pytest.raises(zoo.ConfigError, match=r"other hyperparameters: units="):
        init_from(arch.create(other), str(path), arch_id="drrn-lite", hyperparameters=other)
    with pytest.raises(zoo.ConfigError, match="model.init_from .* is not a file"):
        init_from(arch.create(hp), str(tmp_path / "nope.safetensors"), arch_id="drrn-lite", hyperparameters=hp)


def test_init_and_init_from_together_are_refused(tmp_path: Path) -> None:
    from zoo_core.train.config import load_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: x\nmodel: {architecture: espcn7, init: interpolate, init_from: w.safetensors}\n"
                   "data: {synthetic: {count: 1}}\n")
    with pytest.raises(zoo.ConfigError, match="both set"):
        load_config(cfg)


def test_init_from_subset_starts_a_smaller_variant_from_the_shared_tensors(tmp_path: Path) -> None:
    arch = zoo.get_registry().architecture("drrn-lite")
    big = {**arch.resolve_hyperparameters(), "units": 4, "recursions": 1}
    path, saved = _saved(tmp_path, "drrn-lite", big)
    small_hp = {**big, "units": 2}
    small = arch.create(small_hp)
    init_from(small, str(path), arch_id="drrn-lite", hyperparameters=small_hp, subset=True)
    for k, v in small.state_dict().items():
        assert torch.equal(v, saved.state_dict()[k]), k
    wider = arch.create({**big, "channels": big["channels"] * 2})  # a shape the file lacks is still refused
    with pytest.raises(zoo.WeightsError, match="has shape"):
        init_from(wider, str(path), arch_id="drrn-lite", hyperparameters={**big, "channels": big["channels"] * 2},
                  subset=True)
