"""Shared fixtures: a fresh registry per test and fake installed plugin distributions."""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

import zoo

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_or_skip(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason printed."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is absent (fresh clone without reference data)")
    return path


_COSTS: dict = {}  # measured model costs, shared by every test's private ZOO_HOME (they depend on code only)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """No network, a private zoo cache, and a registry rebuilt for each test."""
    import json

    home = tmp_path_factory.mktemp("zoo_home")
    if _COSTS:  # `zoo list`/`zoo info` would otherwise build every network again in each test
        (home / "costs.json").write_text(json.dumps(_COSTS))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ZOO_HOME", str(home))
    monkeypatch.delenv("ZOO_DISABLE_PLUGINS", raising=False)
    zoo.reset_registry()
    yield
    zoo.reset_registry()
    try:
        _COSTS.update(json.loads((home / "costs.json").read_text()))
    except (OSError, ValueError):
        pass


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Install a throw-away plugin distribution (real dist-info + entry point) on sys.path."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))

    def install(dist: str, module: str, source: str, *, entry: str | None = None) -> Path:
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[zoo]\n{entry or dist} = {module}\n")
        sys.modules.pop(module, None)
        import importlib

        importlib.invalidate_caches()
        zoo.reset_registry()
        return root

    return install
