"""The plugin registry: built-ins and plugins register through hooks; failures stay local and loud."""
from __future__ import annotations

import pytest

import zoo
from zoo_core.registry import get_registry

TINY_ARCH = """
import torch
import zoo

def build(*, scale=2):
    return torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.PixelShuffle(2))

@zoo.hookimpl
def register_architectures(register):
    register(zoo.Architecture(id={arch_id!r}, build=build, scale=2, offset=0, context=1,
                              hyperparameters={{"scale": 2}}))
"""


def test_builtins_and_repo_plugins_are_registered():
    reg = get_registry()
    assert {"upconv7", "espcn7", "drrn-lite", "example-tiny"} <= set(reg.architectures)
    assert "torch" in reg.backends and "ncnn" in reg.weight_formats
    names = {p.name for p in reg.plugins}
    assert {"builtins", "upconv7", "espcn7", "drrn", "example"} <= names
    assert not [p for p in reg.problems], reg.problems


def test_architecture_id_resolves_to_default_card():
    assert zoo.get_card("upconv7").name == "upconv7-scale2x"
    assert zoo.get_card("example-tiny").name == "example-tiny-nearest"


def test_unknown_model_error_lists_and_suggests():
    with pytest.raises(zoo.UnknownNameError) as exc:
        zoo.get_card("upconv7-scale2")
    msg = str(exc.value)
    assert "Unknown model 'upconv7-scale2'" in msg and "Did you mean 'upconv7-scale2x'" in msg
    assert "Run 'zoo list'" in msg
    assert not isinstance(exc.value, KeyError)


def test_duplicate_architecture_names_both_plugins(install_plugin):
    install_plugin("zoo-dup-a", "zoo_dup_a", TINY_ARCH.format(arch_id="dup"))
    install_plugin("zoo-dup-b", "zoo_dup_b", TINY_ARCH.format(arch_id="dup"))
    reg = get_registry()
    with pytest.raises(zoo.DuplicateNameError) as exc:
        reg.architecture("dup")
    assert "zoo-dup-a" in str(exc.value) and "zoo-dup-b" in str(exc.value)
    assert any("dup" in p.message for p in reg.problems)
    assert "upconv7" in reg.architectures  # everything else still works


def test_duplicate_with_builtin_name_does_not_silently_override(install_plugin):
    install_plugin("zoo-evil", "zoo_evil", TINY_ARCH.format(arch_id="upconv7"))
    with pytest.raises(zoo.DuplicateNameError):
        get_registry().architecture("upconv7")


@pytest.mark.slow
@pytest.mark.parametrize("source, expected", [
    ("raise RuntimeError('boom at import')", "boom at import"),
    ("import zoo\n@zoo.hookimpl\ndef register_architectures(register):\n    raise ValueError('boom in hook')\n",
     "boom in hook"),
    ("import zoo\n@zoo.hookimpl\ndef register_architectures(register):\n    register('not an architecture')\n",
     "where an object of kind 'architecture' was expected"),
    ("import zoo\n@zoo.hookimpl\ndef register_architecture(register):\n    pass\n", "register_architecture"),
])
def test_broken_plugin_is_named_and_others_keep_working(install_plugin, source, expected):
    install_plugin("zoo-broken", "zoo_broken", source)
    reg = get_registry()
    broken = [p for p in reg.plugins if p.name == "zoo-broken"]
    assert broken and broken[0].error and expected in broken[0].error
    assert any(p.plugin == "zoo-broken" for p in reg.problems)
    assert "upconv7" in reg.architectures and "upconv7-scale2x" in reg.cards


def test_disable_plugins_env(install_plugin, monkeypatch):
    install_plugin("zoo-dup-a", "zoo_dup_a", TINY_ARCH.format(arch_id="extra"))
    assert "extra" in get_registry().architectures
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "zoo-dup-a, example")
    zoo.reset_registry()
    reg = get_registry()
    assert "extra" not in reg.architectures and "example-tiny" not in reg.architectures
    assert [p.disabled for p in reg.plugins if p.name == "zoo-dup-a"] == [True]


def test_positional_builder_is_rejected(install_plugin):
    install_plugin("zoo-pos", "zoo_pos", TINY_ARCH.format(arch_id="pos").replace("def build(*, scale=2)", "def build(scale=2)"))
    reg = get_registry()
    assert "pos" not in reg.architectures
    assert any("keyword-only" in p.message for p in reg.problems)


def test_unknown_hyperparameter_is_an_error():
    arch = get_registry().architecture("espcn7")
    with pytest.raises(zoo.ZooError, match="no hyperparameter 'scael'"):
        arch.create({"scael": 2})
