"""zoo_core.cardgen: the card builder every plugin's make_cards.py shares (no conversion run here)."""
from __future__ import annotations

from pathlib import Path

import pytest

from zoo_core.cardgen import CardSpec, Family, build_card, distribution, main
from zoo_core.cards import parse_card

FAMILY = Family(package="no-such-package-zoo-test", folder="pkg/models", url="https://example.org/up", license="MIT",
                repo_id="org/repo", cards=Path("/nonexistent"))
SPEC = CardSpec(name="fam-2x", architecture="upconv7", stem="FAM_UP2X",
                task={"scale": 2, "noise_level": -1, "style": "art"}, upstream="the upstream model",
                description="A card.", tags=["fam"], hyperparameters={"scale": 2}, extra={"default": True})
FILES = [{"path": f"pkg/models/FAM_UP2X.{ext}", "sha256": c * 64} for ext, c in (("param", "a"), ("bin", "b"))]


def test_card_carries_provenance_and_keeps_what_was_measured():
    old = {"tags": ["kept"], "metrics": {"psnr": 1.0}}
    card = build_card(FAMILY, SPEC, "c" * 64, FILES, old, "fork/repo", "v2")
    assert card["weights"] == {"repo_id": "fork/repo", "filename": "fam-2x.safetensors", "revision": "v2",
                               "sha256": "c" * 64}
    assert card["upstream"]["command"] == ("zoo convert --arch upconv7 --format ncnn FAM_UP2X.param FAM_UP2X.bin "
                                           "--hyperparameters '{\"scale\": 2}' -o fam-2x.safetensors")
    assert card["tags"] == ["kept"] and card["metrics"] == {"psnr": 1.0}
    assert list(card)[-1] == "default" and list(card).index("hyperparameters") == 2
    parse_card(card)


def test_a_spec_without_hyperparameters_writes_none():
    spec = CardSpec(name="x", architecture="upconv7", stem="X", task={"scale": 2}, upstream="u", description="d",
                    tags=["t"])
    card = build_card(FAMILY, spec, "c" * 64, FILES, {}, "o/r", "v1")
    assert "hyperparameters" not in card and "--hyperparameters" not in card["upstream"]["command"]
    assert card["tags"] == ["t"] and "metrics" not in card


def test_missing_package_and_unknown_names_are_one_line_errors(capsys):
    with pytest.raises(Exception, match="pip install no-such-package-zoo-test"):
        distribution(FAMILY.package)
    assert main(FAMILY, [SPEC], "doc", []) == 1
    assert main(FAMILY, [SPEC], "doc", ["nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: package 'no-such-package-zoo-test' is not installed")
    assert err[1] == "error: no card named nope; this script makes: fam-2x." and len(err) == 2
