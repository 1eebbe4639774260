"""Cards belong to their architecture's plugin: found in its cards/ folder, listed with what they need."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zoo
from zoo_core.cli import main

MODEL_PLUGINS = "upconv7,espcn7,drrn"
CARD = """\
name: {name}
architecture: {arch}
task: {{scale: 2, noise_level: -1, style: art}}
weights: {{file: w.safetensors, sha256: "{sha}"}}
license: MIT
description: a card found in the plugin's cards/ folder
"""


def _package_plugin(root: Path, dist: str, package: str, arch: str, cards: dict[str, str]) -> None:
    """A plugin distribution whose package holds a cards/ folder and no register_model_cards hook."""
    pkg = root / package
    (pkg / "cards").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(f"""
        import zoo

        @zoo.hookimpl
        def register_architectures(register):
            register(zoo.Architecture(id={arch!r}, build="{package}.model:build", scale=2, offset=0, context=1))
    """))
    (pkg / "model.py").write_text("from torch import nn\n\ndef build(*, scale=2):\n"
                                  "    return nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))\n")
    for name, card_arch in cards.items():
        (pkg / "cards" / f"{name}.yaml").write_text(CARD.format(name=name, arch=card_arch, sha="0" * 64))
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{dist} = {package}\n")


@pytest.fixture
def card_plugin(tmp_path, monkeypatch):
    """Install a package plugin 'folderpkg' with two cards in cards/, one for an architecture nobody has."""
    root = tmp_path / "site"
    root.mkdir()
    _package_plugin(root, "folderpkg", "zoo_folderpkg", "folder-arch",
                    {"folder-one": "folder-arch", "folder-orphan": "no-such-arch"})
    monkeypatch.syspath_prepend(str(root))
    import importlib

    for name in ("zoo_folderpkg", "zoo_folderpkg.model"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.invalidate_caches()
    zoo.reset_registry()
    return root


def test_core_only_install_reports_no_problem(monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", MODEL_PLUGINS)
    reg = zoo.get_registry()
    builtins = next(p for p in reg.plugins if p.name == "builtins")
    assert builtins.error is None and not builtins.hooks.count("register_model_cards")
    assert [p.message for p in reg.problems] == []
    assert not any(c.architecture in ("upconv7", "espcn7", "drrn-lite") for c in reg.cards.values())


@pytest.mark.slow
def test_disabled_plugins_cards_say_which_plugin_they_need(monkeypatch, capsys):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", MODEL_PLUGINS)
    assert main(["list", "--all", "--json"]) == 0
    out, err = capsys.readouterr()
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["upconv7-noise1"]["needs"] == "plugin 'upconv7' (disabled by ZOO_DISABLE_PLUGINS)"
    assert rows["drrn-lite"]["needs"].startswith("plugin 'drrn'")
    assert "warning" not in err
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    assert "upconv7-noise1" not in out and err == ""


def test_each_model_plugin_registers_its_own_cards():
    reg = zoo.get_registry()
    assert reg.owners[("cards", "upconv7-noise1")] == "upconv7"
    assert reg.owners[("cards", "espcn7")] == "espcn7"
    assert reg.owners[("cards", "drrn-lite")] == "drrn"
    assert not any(who == "builtins" for (kind, _), who in reg.owners.items() if kind == "cards")


def test_card_folder_is_discovered_without_a_hook(card_plugin):
    reg = zoo.get_registry()
    assert reg.owners[("cards", "folder-one")] == "folderpkg"
    assert reg.cards["folder-one"].source.endswith("cards/folder-one.yaml")
    # the orphan card is a warning and listed as needing its architecture
    assert any("no-such-arch" in p.message and p.plugin == "folderpkg" for p in reg.problems)
    assert ("folder-orphan" in [c.name for c, _ in reg.unavailable])


def test_list_all_names_a_missing_architecture(card_plugin, capsys):
    assert main(["list", "folder", "--all"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("folder-orphan"))
    assert "needs architecture 'no-such-arch'" in line
    assert "folder-one" in out


def test_disabled_plugin_is_not_imported_to_find_its_cards(card_plugin, monkeypatch):
    (card_plugin / "zoo_folderpkg" / "__init__.py").write_text("raise RuntimeError('must not run')\n")
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "folderpkg")
    reg = zoo.get_registry()
    assert [c.name for c, why in reg.unavailable if "folderpkg" in why] == ["folder-one", "folder-orphan"]
    assert not any(p.plugin == "folderpkg" for p in reg.problems)


@pytest.mark.slow
def test_core_only_cli_in_a_subprocess_is_clean(tmp_path):
    import importlib.metadata as md

    others = {ep.name for ep in md.entry_points(group="zoo")} - {"builtins"}  # a core-only install
    env = {"ZOO_DISABLE_PLUGINS": ",".join(sorted(others | set(MODEL_PLUGINS.split(",")))), "HF_HUB_OFFLINE": "1",
           "ZOO_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for cmd in (["plugins"], ["list"]):
        r = subprocess.run([sys.executable, "-c", "import sys, zoo_core.cli as c; sys.exit(c.main())", *cmd], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        assert "BROKEN" not in r.stdout and "warning" not in r.stderr, (r.stdout, r.stderr)
