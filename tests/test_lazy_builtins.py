"""The built-ins are registered by name and imported on first use; their tables match the modules they stand for."""
from __future__ import annotations

import types

import pytest

import zoo
from zoo_core.default_plugins import BACKENDS, FORMATS
from zoo_core.lazy import LazyObject, lazy_function
from zoo_core.registry import build_registry


def test_lazy_tables_match_the_real_objects():
    reg = zoo.get_registry()
    for kind, table in (("weight_formats", FORMATS), ("backends", BACKENDS)):
        for name, _, description in table:
            proxy = getattr(reg, kind)[name]
            real = proxy.loaded()
            assert (real.name, real.description) == (name, description) == (proxy.name, proxy.description)


def test_lazy_losses_match_the_training_module():
    from zoo_core.train.losses import builtin_losses

    reg = zoo.get_registry()
    assert {(s.name, s.description) for s in builtin_losses()} == {(s.name, s.description) for s in reg.losses.values()}
    import torch

    a, b = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    for spec in builtin_losses():
        assert float(reg.loss(spec.name).create()(a, b)) == pytest.approx(float(spec.create()(a, b)))


def test_lazy_object_delegates_and_fails_in_one_line():
    proxy = LazyObject("collections:OrderedDict", name="od")
    assert proxy.name == "od" and proxy.keys() is not None and isinstance(proxy.loaded(), dict)
    with pytest.raises(zoo.PluginError, match="'nope.nothing:X' cannot be imported"):
        LazyObject("nope.nothing:X", name="x").loaded()
    with pytest.raises(zoo.PluginError, match="cannot be imported"):
        lazy_function("math:no_such_function")()
    assert lazy_function("math:sqrt")(9.0) == 3.0


def test_duplicate_loss_message_says_loss(monkeypatch):
    module = types.ModuleType("twice")

    @zoo.hookimpl
    def register_losses(register):
        register(zoo.LossSpec(name="l1", create=lambda: None))

    module.register_losses = register_losses
    reg = build_registry(extra_modules=[module])
    message = next(p.message for p in reg.problems if p.plugin == "twice")
    assert message.startswith("loss 'l1' is registered by both 'builtins' and 'twice'")
