"""The plugin-author contract: hyperparameters written once (the builder's signature), the declared context
measured against the built network, and a malformed registration reported as one problem line."""
from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

import zoo
from zoo_core.cli import main
from zoo_core.conformance import check_context, check_members, measure_context
from zoo_core.registry import build_registry, get_registry

ARCH_IDS = sorted(build_registry().architectures)
MODEL = '''
"""Never imported by registration: importing it would record itself."""
import sys
sys.modules.setdefault("zoo_contract_model_was_imported", sys)


def build(*, channels=8, scale=2, gain=(0.5, 1.0), name="x"):
    from torch import nn
    return nn.Sequential(nn.Conv2d(3, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
'''
PLUGIN = '''
import zoo

@zoo.hookimpl
def register_architectures(register):
    register(zoo.Architecture(id="contract-ok-{n}", build=lambda *, scale=2: None, scale=2, offset=0, context=1))
    register(zoo.Architecture(id="contract-{n}", build={build}, scale=2, offset=0, context=1{extra}))
'''


def _plugin(install_plugin, n: str, build: str, extra: str = "", model: str = MODEL) -> list[str]:
    """Install a plugin registering one architecture as given (and one good one); its problem lines."""
    site = install_plugin(f"zoo-contract-{n}", f"zoo_contract_{n}", PLUGIN.format(n=n, build=build, extra=extra))
    (site / "zoo_contract_model.py").write_text(model)
    for name in ("zoo_contract_model", "zoo_contract_model_was_imported"):
        sys.modules.pop(name, None)
    zoo.reset_registry()
    reg = get_registry()
    assert f"contract-ok-{n}" in reg.architectures  # the plugin's other registrations stand
    return [p.message for p in reg.problems if p.plugin == f"zoo-contract-{n}"]


def test_hyperparameters_come_from_the_builder_source_without_importing_it(install_plugin):
    assert _plugin(install_plugin, "a", '"zoo_contract_model:build"') == []
    arch = get_registry().architecture("contract-a")
    assert arch.defaults() == {"channels": 8, "scale": 2, "gain": (0.5, 1.0), "name": "x"}
    assert "zoo_contract_model_was_imported" not in sys.modules and "zoo_contract_model" not in sys.modules
    assert arch.resolve_hyperparameters({"channels": 4})["channels"] == 4
    with pytest.raises(zoo.ZooError, match="no hyperparameter 'chanels'. Known: channels, gain, name, scale"):
        arch.resolve_hyperparameters({"chanels": 4})
    assert arch.geometry({"scale": 3}).scale == 3  # the `scale` hyperparameter still overrides scale
    assert tuple(arch.create({"scale": 3})(torch.zeros(1, 3, 4, 4)).shape) == (1, 3, 12, 12)


def test_callable_builder_defaults_and_shipped_plugins_write_them_once():
    arch = zoo.Architecture(id="c", build=lambda *, width=16, scale=2: nn.Identity(), scale=2, offset=0, context=0)
    assert arch.defaults() == {"width": 16, "scale": 2}
    reg = get_registry()
    assert reg.architecture("espcn7").defaults() == {"scale": 2, "selection_unit": False}
    assert reg.architecture("rrdbnet").defaults() == {"num_feat": 16, "num_block": 1, "num_grow_ch": 8}
    assert reg.architecture("upconv7").defaults() == {}
    assert all(reg.architecture(a).hyperparameters is None for a in ("espcn7", "drrn-lite", "srvgg-compact"))


@pytest.mark.parametrize("model, expected", [
    ("def build(*, channels, scale=2):\n    pass\n",
     "parameter 'channels' has no default, expected one (its default hyperparameter). "
     "Fix: def build(*, channels=VALUE"),
    ("import math\ndef build(*, gain=math.pi, scale=2):\n    pass\n",
     "the default of parameter 'gain' is not a literal"),
    ("def build(channels=8, *, scale=2):\n    pass\n",
     "takes ['channels'] by position; hyperparameters must be keyword-only"),
    ("def build(*, scale=3):\n    pass\n",
     "says scale=2 but its default hyperparameter scale is 3. Fix: make them agree"),
    ("build = None\n", "cannot be read without importing it (not a top-level def). Fix: pass hyperparameters="),
])
def test_a_builder_zoo_cannot_read_is_one_problem_line_at_registration(install_plugin, model, expected):
    problems = _plugin(install_plugin, "b", '"zoo_contract_model:build"', model=model)
    assert len(problems) == 1 and expected in problems[0] and "\n" not in problems[0], problems
    assert "contract-b" not in get_registry().architectures


def test_explicit_hyperparameters_must_name_the_builder_parameters(install_plugin):
    given = ', hyperparameters={"chanels": 8, "scale": 2}'
    problems = _plugin(install_plugin, "c", '"zoo_contract_model:build"', given)
    assert len(problems) == 1, problems
    assert "(not in the builder: chanels)" in problems[0] and "(not declared: channels, gain, name)" in problems[0]
    model = "def build(*, width=8, scale=2):\n    pass\n"  # a different default is fine: the names agree
    assert _plugin(install_plugin, "d", '"zoo_contract_model:build"', ', hyperparameters={"width": 4, "scale": 2}',
                   model=model) == []
    assert get_registry().architecture("contract-d").defaults() == {"width": 4, "scale": 2}


def test_explicit_hyperparameters_of_a_builder_only_import_shows_are_checked_when_built(install_plugin):
    model = "def _build(*, width=8):\n    pass\n\nbuild = _build\n"  # not a top-level def: read on import
    given = ', hyperparameters={"depth": 2}'
    assert _plugin(install_plugin, "e", '"zoo_contract_model:build"', given, model=model) == []
    expected = r"takes \['width'\] but the architecture declares hyperparameters \['depth'\]"
    with pytest.raises(zoo.ZooError, match=expected):
        get_registry().architecture("contract-e").create()


@pytest.mark.parametrize("extra, expected", [
    (', size_multiple="2"', "size_multiple must be a whole number from 1 or a function of the hyperparameters, "
                            "got '2'"),
    (", supports_fp16=1", "supports_fp16 must be True or False, got 1"),
    (', default_card="contract-nope"', "names default_card 'contract-nope', which no plugin registers"),
])
def test_malformed_fields_are_one_line_in_zoo_plugins(install_plugin, capsys, extra, expected):
    problems = _plugin(install_plugin, "f", "lambda *, scale=2: None", extra)
    assert len(problems) == 1 and expected in problems[0], problems
    capsys.readouterr()
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "Traceback" not in out and sum(expected in line for line in out.splitlines()) == 1


@pytest.mark.slow
def test_zoo_plugins_check_names_the_context_a_plugin_needs(install_plugin, capsys):
    model = ("from torch import nn\n\ndef build(*, scale=2):\n    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), "
             "nn.Conv2d(8, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))\n")
    assert _plugin(install_plugin, "g", '"zoo_contract_model:build"', model=model) == []
    capsys.readouterr()
    assert main(["plugins", "--check", "contract-g", "example-tiny"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("check: ")]
    assert lines == ["check: Architecture 'contract-g' declares context 1 but its receptive field needs 2 input pixels "
                     "per side; set context=2.",
                     "check: Architecture 'example-tiny': context 1 covers its receptive field"]


def _arch(build, *, context: int, offset: int = 0, scale: int = 1, **extra) -> zoo.Architecture:
    return zoo.Architecture(id="probe", build=build, scale=scale, offset=offset, context=context, **extra)


def _stack(*layers: nn.Module):
    """A builder of these layers (no hyperparameters)."""
    return lambda **_: nn.Sequential(*layers)


def test_measure_context_of_plain_unpadded_and_strided_stacks():
    assert measure_context(_arch(_stack(*[nn.Conv2d(3, 3, 3, padding=1) for _ in range(3)]), context=1)) == 3
    unpadded = _stack(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 3, 3))
    assert measure_context(_arch(unpadded, context=2, offset=2)) == 2
    # 2x2 stride-2 blocks: each output pixel sees its own block only, at most 1 pixel away (phase 1 of the grid)
    strided = _stack(nn.Conv2d(3, 4, 2, stride=2), nn.ConvTranspose2d(4, 3, 2, stride=2))
    assert measure_context(_arch(strided, context=1, size_multiple=2)) == 1


def test_too_small_context_says_the_needed_value():
    assert check_context(_arch(_stack(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)), context=1, scale=2)) is None
    deep = _stack(nn.Conv2d(3, 8, 5, padding=2), nn.Conv2d(8, 12, 3, padding=1), nn.PixelShuffle(2))
    assert check_context(_arch(deep, context=2, scale=2)) == (
        "Architecture 'probe' declares context 2 but its receptive field needs 3 input pixels per side; set context=3.")
    assert check_context(_arch(deep, context=5, scale=2)) is None  # more than needed is fine


class _GlobalMean(nn.Module):
    def forward(self, x):
        return x + x.mean()


class _Constant(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


@pytest.mark.slow
def test_image_wide_statistics_without_prepare_image_and_a_constant_network_are_reported():
    with pytest.raises(zoo.ZooError, match="reaches past 512 input pixels per side"):
        measure_context(_arch(lambda **_: _GlobalMean(), context=1))
    with pytest.raises(zoo.ZooError, match="changed no output pixel"):
        measure_context(_arch(lambda **_: _Constant(), context=1))


def test_optional_module_members_are_checked():
    module = nn.Conv2d(3, 3, 1)
    module.init_schemes = "interpolate"
    module.prepare_image = 3
    problems = check_members(_arch(lambda **_: module, context=0), module)
    assert len(problems) == 2
    assert "init_schemes is str, expected a tuple of scheme names" in problems[1]
    assert "prepare_image is int, expected a method prepare_image(tiles, *, tta[, features])" in problems[0]
    module.init_schemes = ("a",)
    del module.prepare_image
    assert check_members(_arch(lambda **_: module, context=0), module) == [
        "Architecture 'probe': its module lists init_schemes but has no init_weights(scheme). "
        "Fix: add the method, or drop init_schemes."]


_MEASURED: dict[tuple[str, str], int] = {}  # realcugan and realcugan-pro build one network: measured once


@pytest.mark.slow
@pytest.mark.parametrize("arch_id", ARCH_IDS)
def test_every_architecture_declares_enough_context(arch_id):
    """Measured receptive radius (default hyperparameters) <= declared context; members of the right kind.

    Image-wide statistics (CUNet, Real-CUGAN SE blocks) are frozen through the module's prepare_image."""
    arch = get_registry().architecture(arch_id)
    key = (arch.build if isinstance(arch.build, str) else arch_id, repr(arch.defaults()))
    if key not in _MEASURED:
        _MEASURED[key] = measure_context(arch)
    assert check_context(arch, needed=_MEASURED[key]) is None
    assert check_members(arch, arch.create()) == []
