"""Conformance: every registered architecture builds, has the declared geometry and round-trips."""
from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo_core.capabilities import init_schemes
from zoo_core.cost import cost
from zoo_core.registry import build_registry
from zoo_core.weights.safetensors_io import load_into, load_safetensors, save_safetensors

ARCH_IDS = sorted(build_registry().architectures)


@pytest.mark.slow
@pytest.mark.parametrize("arch_id", ARCH_IDS)
def test_forward_shape_and_finite(arch_id):
    arch = zoo.get_registry().architecture(arch_id)
    geo = arch.geometry()
    torch.manual_seed(0)
    module = arch.create().eval()
    m = geo.size_multiple  # padded sides must be multiples of it
    h, w = 9 + (-(9 + 2 * geo.offset)) % m, 13 + (-(13 + 2 * geo.offset)) % m
    x = torch.rand(2, geo.in_channels, h + 2 * geo.offset, w + 2 * geo.offset)
    with torch.inference_mode():
        y = module(x)
    assert y.shape == (2, geo.out_channels, h * geo.scale, w * geo.scale)
    assert torch.isfinite(y).all()
    assert geo.context >= geo.offset >= 0


@pytest.mark.slow
@pytest.mark.parametrize("arch_id", ARCH_IDS)
def test_hyperparameters_round_trip_through_safetensors(arch_id, tmp_path):
    arch = zoo.get_registry().architecture(arch_id)
    hp = arch.resolve_hyperparameters()
    torch.manual_seed(1)
    module = arch.create(hp).eval()
    path = tmp_path / "w.safetensors"
    save_safetensors(path, module.state_dict(), {"architecture": arch_id, "hyperparameters": json.dumps(hp)})
    tensors, meta = load_safetensors(path)
    rebuilt = zoo.get_registry().architecture(meta["architecture"]).create(json.loads(meta["hyperparameters"]))
    load_into(rebuilt, tensors, str(path))
    off = arch.geometry(hp).offset
    x = torch.rand(1, 3, 12 + 2 * off, 12 + 2 * off)
    with torch.inference_mode():
        assert torch.equal(module(x), rebuilt.eval()(x))


@pytest.mark.slow
def test_costs_match_the_design_notes():
    reg = zoo.get_registry()
    up = cost(reg.architecture("upconv7"))
    es = cost(reg.architecture("espcn7"))
    dr = cost(reg.architecture("drrn-lite"))
    assert es["parameters"] == 1_173_068
    assert dr["macs_per_output_pixel"] <= up["macs_per_output_pixel"] / 4  # issue 5's budget


def test_safetensors_writer_is_deterministic(tmp_path):
    t = {"b": torch.arange(6.0).reshape(2, 3), "a": torch.ones(3, dtype=torch.float16)}
    d1 = save_safetensors(tmp_path / "1.safetensors", t, {"z": "1", "a": "2"})
    d2 = save_safetensors(tmp_path / "2.safetensors", dict(reversed(list(t.items()))), {"a": "2", "z": "1"})
    assert d1 == d2
    loaded, meta = load_safetensors(tmp_path / "1.safetensors")
    assert torch.equal(loaded["b"], t["b"]) and meta == {"a": "2", "z": "1"}


@pytest.mark.parametrize("arch_id", ARCH_IDS)
def test_init_schemes_keep_the_geometry(arch_id):
    """Every training init a model offers gives a finite network of the same shape."""
    arch = zoo.get_registry().architecture(arch_id)
    geo, module = arch.geometry(), arch.create()
    x = torch.rand(1, geo.in_channels, 12 + 2 * geo.offset, 12 + 2 * geo.offset)
    for scheme in init_schemes(module):
        module.init_weights(scheme)
        with torch.no_grad():
            y = module(x)
        assert y.shape[-2:] == (12 * geo.scale, 12 * geo.scale) and torch.isfinite(y).all()


@pytest.mark.slow
def test_espcn7_interpolate_init_is_bilinear_upscaling():
    arch = zoo.get_registry().architecture("espcn7")
    torch.manual_seed(0)
    module = arch.create()
    assert module.init_schemes == ("interpolate",)
    assert arch.create({"selection_unit": True}).init_schemes == ()  # gates would scale the copied input
    module.init_weights("interpolate")
    x = torch.rand(1, 3, 20, 24)
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    with torch.no_grad():
        start = module(x)
        module.up_sampler[0].weight[:, 3:].zero_()  # drop the small random features: exactly bilinear
        exact = module(x)
    inner = (..., slice(2, -2), slice(2, -2))  # zero padding vs edge clamping differs at the border
    assert torch.allclose(exact[inner], ref[inner], atol=1e-5)
    assert 10 * torch.log10(1 / (start[inner] - ref[inner]).pow(2).mean()) > 25  # random part starts small


def test_offset_and_size_multiple_may_depend_on_the_hyperparameters():
    """One architecture whose scales consume different margins (Real-CUGAN 2x/3x/4x: 18, 14, 19 px)."""
    margins = {2: (18, 2), 3: (14, 4)}
    arch = zoo.Architecture(id="per-scale", build=lambda *, scale=2: torch.nn.Identity(), scale=2,
                            offset=lambda hp: margins[hp["scale"]][0], context=lambda hp: 16 + hp["scale"],
                            size_multiple=lambda hp: margins[hp["scale"]][1], hyperparameters={"scale": 2})
    assert (arch.geometry().offset, arch.geometry().size_multiple, arch.geometry().scale) == (18, 2, 2)
    geo = arch.geometry({"scale": 3})
    assert (geo.offset, geo.context, geo.size_multiple, geo.scale) == (14, 19, 4, 3)
