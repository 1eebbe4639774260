"""Issue 25 items 5, 6, 7 and 16 (weights.file ':'): one rule for every path and Hub name a card (or ZOO_HUB_REPO)
gives. A card could make zoo import a module of its choosing from the current folder, read and hash any file
(/etc/passwd) and print the hash, and have huggingface_hub write outside its cache."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from PIL import Image

import zoo
from hubserver import HubServer, hub  # noqa: F401  (hub is a fixture)
from zoo_core.cards import load_card_file
from zoo_core.cli import main
from zoo_core.errors import ZooError
from zoo_core.weights.sources import package_file

SHA = "244e91c4a3721e07566485a83d0325b8ea7d35a8f9fd154db0314a23c2b9cbd2"


def write_card(folder: Path, weights: dict, name: str = "card.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({"name": "hostile", "architecture": "example-tiny", "task": {"scale": 2},
                                    "weights": weights, "license": "MIT", "description": "d"}))
    return path


@pytest.mark.slow
def test_a_card_never_imports_a_module_it_names(tmp_path):
    """`weights.file: zoopayload:w.safetensors` ran ./zoopayload.py (`python -m zoo info card.yaml`)."""
    marker = tmp_path / "ran.txt"
    (tmp_path / "zoopayload.py").write_text(f"open({str(marker)!r}, 'w').write('code from the current folder ran')\n")
    (tmp_path / "zoopayload").mkdir()  # a package of that name too: importlib.resources would import it
    (tmp_path / "zoopayload" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('package ran')\n")
    write_card(tmp_path, {"file": "zoopayload:w.safetensors", "sha256": SHA})
    Image.new("RGB", (4, 4)).save(tmp_path / "in.png")
    for argv in (["info", "card.yaml"], ["upscale", "in.png", "-o", "out", "-m", "card.yaml", "-q"],
                 ["fetch", "card.yaml", "-q"]):
        run = subprocess.run([sys.executable, "-m", "zoo", *argv], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
        assert "Traceback" not in run.stderr, run.stderr
        assert not marker.exists(), (argv, marker.read_text())
        if argv[0] != "info":
            assert run.returncode == 1 and "not the package of an installed zoo plugin" in run.stderr, run.stderr


def test_weights_file_outside_its_root_is_never_read(tmp_path, capsys):
    """`weights.file: ../../../../etc/passwd` (or `pkg:../..`, an absolute path, a link out) was read and hashed."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not for cards")
    shown = hashlib.sha256(secret.read_bytes()).hexdigest()[:16]
    cards = tmp_path / "cards"
    cards.mkdir()
    up = os.path.relpath(secret, cards)
    for value in (up, str(secret), f"zoo_example:../../../../../../../..{secret}", ":", "zoo_example:", "a\nb",
                  "..\\secret.txt", "./../secret.txt"):
        with pytest.raises(ZooError, match="leads outside its package or folder|must be PACKAGE:PATH"):
            load_card_file(write_card(cards, {"file": value, "sha256": SHA}))
        assert main(["info", str(cards / "card.yaml")]) == 1
        out, err = capsys.readouterr()
        assert shown not in out + err and len(err.strip().splitlines()) == 1, err
    os.symlink(tmp_path, cards / "up")  # a link inside the card's folder that leads out of it
    card = load_card_file(write_card(cards, {"file": "up/secret.txt", "sha256": SHA}))
    with pytest.raises(ZooError, match="leads outside .* \\(a symbolic link\\)"):
        package_file(card.weights["file"], card)
    assert main(["fetch", str(cards / "card.yaml"), "-q"]) == 1
    out, err = capsys.readouterr()
    assert "leads outside" in err and shown not in out + err


def test_package_references_name_only_installed_zoo_plugins(tmp_path):
    """A `pkg:path` names the package of an installed zoo plugin; any other module is refused, never imported."""
    shipped = zoo.get_card("example-tiny-nearest")
    assert package_file(shipped.weights["file"], shipped).is_file()  # the plugin's own reference still works
    for pkg in ("os", "json", "zoopayload", "torch"):
        card = load_card_file(write_card(tmp_path, {"file": f"{pkg}:w.safetensors", "sha256": SHA}))
        with pytest.raises(ZooError, match=f"package '{pkg}', which is not the package of an installed zoo plugin"):
            package_file(card.weights["file"], card)


HOSTILE_REVISIONS = ["../../../escaped", "main/../../escaped", "/abs", "a\nzoo: forged", "x" * 300, ".."]


def test_hub_names_in_cards_are_checked(tmp_path):
    """A card `weights.revision` with '../' (or a repo id of 300 characters) reached huggingface_hub's cache paths."""
    base = {"repo_id": "org/name", "filename": "w.safetensors", "revision": "main", "sha256": SHA}
    for field, value in [*[("revision", r) for r in HOSTILE_REVISIONS], ("repo_id", "o" * 300 + "/x"),
                         ("repo_id", "org/../x"), ("repo_id", "org/name\n"), ("filename", "../x")]:
        with pytest.raises(ZooError, match="not a Hub re|leads outside"):
            load_card_file(write_card(tmp_path, {**base, field: value}))


@pytest.mark.slow
def test_zoo_hub_repo_cannot_write_outside_the_hub_cache(hub, tmp_path, capsys, monkeypatch):  # noqa: F811
    """ZOO_HUB_REPO='org/name@../../../../tmp/x': huggingface_hub wrote its ref file outside the cache."""
    card = zoo.get_card("upconv7-scale2x")
    home = Path(os.environ["HF_HOME"])
    for rev in HOSTILE_REVISIONS[:2]:
        hub.add("org/name", quote(rev, safe=""), card.weights["filename"], b"weights")  # a server that says yes
        monkeypatch.setenv("ZOO_HUB_REPO", f"org/name@{rev}")
        assert main(["fetch", card.name, "-q"]) == 1
        err = capsys.readouterr().err
        assert "ZOO_HUB_REPO" in err and "is not a Hub revision" in err, err
    assert not list(home.rglob("escaped")) and not (home.parent / "escaped").exists()
    assert not [r for r in hub.log if "escaped" in r.path]  # refused before any request
    for bad in ("o" * 300 + "/x", "org/name\nzoo: forged line", "org/name/../../x"):
        monkeypatch.setenv("ZOO_HUB_REPO", bad)
        assert main(["fetch", card.name, "-q"]) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "is not a Hub repository id" in err, err
