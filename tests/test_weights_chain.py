"""The weights chain (weights/sources.py, weights/resolve.py): order, one sha256 per file, reasons; plugin checks."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

import zoo
from zoo_core.errors import FetchError, WeightsError
from zoo_core.weights import safetensors_io
from zoo_core.weights.problems import SettingError
from zoo_core.weights.resolve import resolve
from zoo_core.weights.sources import OFFLINE


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file zoo_core hashes with sha256_file, wherever the function was imported to."""
    seen: list[Path] = []
    real = safetensors_io.sha256_file

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return real(path)

    for name, module in list(sys.modules.items()):
        if name.startswith("zoo_core") and getattr(module, "sha256_file", None) is real:
            monkeypatch.setattr(module, "sha256_file", counting)
    return seen


class Given:
    """A source that returns a fixed path, or raises a fixed error, and counts its calls."""

    how = "given"

    def __init__(self, result: Path | None = None, error: Exception | None = None) -> None:
        self.result, self.error, self.calls = result, error, 0

    def find(self, card, wrong_digest):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.result


def hub_card(data: bytes) -> zoo.Card:
    """A Hub card (weights.repo_id) whose sha256 is that of `data`."""
    return zoo.parse_card({
        "name": "chain-test", "architecture": "example-tiny", "task": {"scale": 2, "noise_level": -1, "style": "art"},
        "weights": {"repo_id": "o/r", "filename": "chain-test.safetensors", "revision": "main",
                    "sha256": hashlib.sha256(data).hexdigest()},
        "license": "MIT", "description": "x"}, "<test>")


def test_one_load_of_a_shipped_card_hashes_its_weights_once(hashed):
    card = zoo.get_card("drrn-lite")
    assert not card.on_hub
    zoo.load(card.name)
    assert len(hashed) == 1 and hashed[0].name == Path(card.weights["file"].split(":")[1]).name


def test_one_load_of_a_hub_card_rebuilt_earlier_hashes_once(hashed):
    card = zoo.get_card("upconv7-scale2x")
    built = zoo.fetch(card.name)  # offline (tests): rebuilt from the installed package into ZOO_HOME
    hashed.clear()
    zoo.load(card.name, backend="torch")
    assert hashed == [built]


def test_first_source_with_the_right_file_wins_and_later_ones_are_not_asked(tmp_path, hashed):
    good = tmp_path / "good.safetensors"
    good.write_bytes(b"weights")
    card = hub_card(b"weights")
    failing, giving, unused = Given(error=FetchError("the Hub is down.")), Given(good), Given(good)
    heard: list[str] = []
    assert resolve(card, [Given(None), failing, giving, unused], notify=heard.append) == good
    assert (failing.calls, giving.calls, unused.calls) == (1, 1, 0)
    assert heard == ["the Hub is down. Using 'chain-test' given instead."]
    assert hashed == [good]  # verified once, by the resolver


def test_a_wrong_file_is_skipped_and_every_reason_makes_the_one_line_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not these")
    card = hub_card(b"weights")
    with pytest.raises(FetchError) as exc:
        resolve(card, [Given(error=FetchError("the Hub is down.")), Given(bad), Given(error=FetchError("No upstream."))])
    text, found = str(exc.value), hashlib.sha256(b"not these").hexdigest()[:16]
    assert "\n" not in text and text.startswith("the Hub is down. chain-test: sha256 of ")
    assert f"is {found}…, the card expects" in text and text.endswith("No upstream.")


def test_a_wrong_setting_stops_the_chain():
    later = Given(error=FetchError("never asked"))
    with pytest.raises(SettingError, match="ZOO_HUB_REPO"):
        resolve(hub_card(b"w"), [Given(error=SettingError("ZOO_HUB_REPO='x' is not ORG/NAME.")), later])
    assert later.calls == 0


def test_a_source_that_verifies_first_does_not_cost_a_second_hash(tmp_path, hashed):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"weights")

    class Checking(Given):
        def find(self, card, wrong_digest):
            assert wrong_digest(self.result) is None
            return self.result

    assert resolve(hub_card(b"weights"), [Checking(path)]) == path
    assert hashed == [path]


def test_nothing_found_and_untrained_cards_are_one_line_errors():
    card = zoo.get_card("upconv7-scale2x")
    with pytest.raises(WeightsError, match="none of 3 weight sources has its weights"):
        resolve(card, OFFLINE)  # not shipped, nothing cached, and no Hub or upstream source in this chain
    data = card.to_dict()
    data.pop("weights")
    untrained = zoo.parse_card(data, "<test>")
    with pytest.raises(WeightsError, match="is untrained"):
        resolve(untrained, OFFLINE)


@pytest.mark.parametrize("source,expected", [
    ('''
class Fmt(WeightFormat):
    name = "nover"
    def convert(self, arch_id, module, paths): ...
@zoo.hookimpl
def register_weight_formats(register):
    register(Fmt())''', "weight format 'nover' (Fmt) has no 'version'"),
    ('''
class Old:
    name = "old-backend"
    def supports(self, *, arch_id, device, precision): return True
    def prepare(self, *, module, arch_id, device, precision, threads): ...
@zoo.hookimpl
def register_backends(register):
    register(Old())''', "backend 'old-backend' (Old) has no method supports(card, module, *, device, precision)"),
])
def test_registration_checks_formats_and_backends(install_plugin, source, expected):
    install_plugin("zoo-badkind", "zoo_badkind", "import zoo\nfrom zoo_core.interfaces import WeightFormat\n" + source)
    reg = zoo.get_registry()
    (problem,) = [p for p in reg.problems if p.plugin == "zoo-badkind"]
    assert expected in problem.message and "Fix: subclass zoo_core.interfaces." in problem.message
    assert "\n" not in problem.message
    assert "nover" not in reg.weight_formats and "old-backend" not in reg.backends


def test_zoo_fetch_of_a_copy_already_here_hashes_it_once(hashed, capsys):
    from zoo_core.cli import main

    assert main(["fetch", "-q", "upconv7-scale2x"]) == 0  # rebuilt from the installed package
    hashed.clear()
    assert main(["fetch", "-q", "upconv7-scale2x"]) == 0
    assert "already here" in capsys.readouterr().out and len(hashed) == 1
