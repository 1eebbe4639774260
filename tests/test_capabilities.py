"""The capabilities a model may offer are declared in zoo_core/capabilities.py, checked when a network is built,
and nobody else probes a model for them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from torch import nn

import zoo
from zoo_core import capabilities
from zoo_core.capabilities import CapabilityError, ImageStatistics, Initialisable, SEBlock

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "zoo_core" / "capabilities.py"
PROBES = {"getattr", "hasattr", "getattr_static"}


def _sources() -> list[Path]:
    """zoo's own code and every plugin's package (their tests may probe what they built)."""
    found = [*(ROOT / "zoo_core").rglob("*.py"), *(ROOT / "zoo").rglob("*.py"), *(ROOT / "tests").glob("*.py")]
    found += [p for p in (ROOT / "plugins").rglob("*.py") if "tests" not in p.parts]
    found += list((ROOT / "tests" / "example_plugin").rglob("*.py"))
    return [p for p in found if p != HOME and ".venv" not in p.parts]


def _probes(path: Path) -> list[str]:
    """'file:line name' for each getattr/hasattr whose attribute is a capability member."""
    names, hits = capabilities.names(), []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        func = getattr(node, "func", None) if isinstance(node, ast.Call) else None
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called in PROBES and len(node.args) >= 2:
            attr = node.args[1]
            literal = attr.value if isinstance(attr, ast.Constant) else None
            tuple_names = [e.value for e in getattr(attr, "elts", []) if isinstance(e, ast.Constant)]
            if literal in names or set(tuple_names) & names:
                where = path.relative_to(ROOT) if ROOT in path.parents else path.name
                hits.append(f"{where}:{node.lineno} {called}({ast.unparse(attr)})")
    return hits


def test_no_getattr_probe_of_a_capability_outside_its_module():
    hits = [hit for path in _sources() for hit in _probes(path)]
    assert not hits, f"ask zoo_core.capabilities instead of probing: {hits}"


def test_the_source_test_sees_a_probe(tmp_path: Path):
    path = tmp_path / "sample.py"
    path.write_text("def f(m):\n    return getattr(m, 'prepare_image', None), hasattr(m, 'gate'), getattr(m, 'x')\n")
    assert [h.split(" ", 1)[1] for h in _probes(path)] == ["getattr('prepare_image')", "hasattr('gate')"]


def test_a_malformed_capability_fails_when_the_network_is_built():
    module = nn.Conv2d(3, 3, 1)
    module.prepare_image = 3
    arch = zoo.Architecture(id="probe", build=lambda: module, scale=1, offset=0, context=0)
    with pytest.raises(CapabilityError) as info:
        arch.create()
    assert str(info.value) == ("Architecture 'probe': its module's prepare_image is int, expected a method "
                               "prepare_image(tiles, *, tta[, features]) returning a handle with close(). "
                               "Fix: define it so, or remove it.")
    assert isinstance(info.value, zoo.ZooError)
    del module.prepare_image
    assert arch.create() is module


class _Stats(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate, self.stop_here = None, False

    def excite(self, mean: torch.Tensor) -> torch.Tensor:
        return mean

    def prepare_image(self, tiles, *, tta):
        return None


class _Gathered(_Stats):
    def prepare_image(self, tiles, *, tta, features=None):
        return None


def test_each_capability_is_recognised_by_its_protocol():
    plain, stats, gathered = nn.Conv2d(3, 3, 1), _Stats(), _Gathered()
    assert isinstance(stats, ImageStatistics) and isinstance(stats, SEBlock)
    assert not isinstance(plain, ImageStatistics) and not capabilities.is_se_block(plain)
    assert capabilities.image_statistics(plain) is None
    assert capabilities.image_statistics(stats) == stats.prepare_image
    assert not capabilities.gathers_with_features(stats) and capabilities.gathers_with_features(gathered)
    assert capabilities.init_schemes(plain) == () and not isinstance(plain, Initialisable)
    assert capabilities.kept_pixels(object()) == 0 and capabilities.kept_pixels(zoo.Runner()) == 0
