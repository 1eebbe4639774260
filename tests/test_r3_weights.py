"""Issue 25, headline: broken weights are refused on every backend a card can get, the default ncnn path first."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import zoo
from zoo_core.api import backend_named, build_model, get_card, pick_backends
from zoo_core.cli import main
from zoo_core.weights.safetensors_io import load_safetensors, save_safetensors

CARDS = ("drrn-lite", "example-tiny")  # drrn-lite clamps its output: ncnn's clip turned NaN into white


def backends_for(card: str) -> list[str]:
    """Every backend this card can get here, the default first (ncnn on a CPU)."""
    from zoo_core.registry import get_registry

    c = get_card(card)
    module = build_model(c)
    names = [b.name for b in pick_backends(c, module, "cpu", "fp32", None)]
    for name in sorted(get_registry().backends):
        b = backend_named(name)
        if name not in names and b.supports(c, module, device="cpu", precision="fp32") is None:
            names.append(name)
    assert names[0] == "ncnn", names  # the default path is the one a user gets without --backend
    return names


def filled(tmp_path: Path, card: str, value: float) -> Path:
    tensors, meta = load_safetensors(zoo.fetch(card))
    out = tmp_path / f"{card}-{value}.safetensors"
    save_safetensors(out, {k: torch.full_like(v, value) for k, v in tensors.items()}, meta)
    return out


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, [ln for ln in err.splitlines() if ln.startswith("zoo: error: ")]


@pytest.mark.slow
@pytest.mark.parametrize("card", CARDS)
def test_non_finite_weights_are_refused_on_every_backend(card, tmp_path, capsys):
    """Was: drrn-lite with NaN (or ±inf, 1e30) weights wrote an all-white image with exit 0 on ncnn."""
    src = tmp_path / "in.png"
    Image.new("RGB", (20, 14), (10, 120, 200)).save(src)
    for backend in backends_for(card):
        for value in (float("nan"), float("inf"), float("-inf"), 1e30):
            w = filled(tmp_path, card, value)
            out = tmp_path / f"o-{backend}-{value}.png"
            code, errors = run(["upscale", str(src), "-o", str(out), "-m", card, "-q", "--weights", str(w),
                                "--backend", backend], capsys)
            assert code == 1 and not out.exists(), (backend, value)
            assert len(errors) == 1 and "holds NaN, infinite or absurd values" in errors[0], (backend, errors)
            assert str(w) in errors[0] and "nothing was run" in errors[0]


@pytest.mark.slow
def test_absurd_outputs_are_refused_on_every_backend(tmp_path, capsys):
    """Finite weights (1000) whose output overflows to absurd values: refused on each backend, nothing written."""
    src = tmp_path / "in.png"
    Image.new("RGB", (20, 14), (10, 120, 200)).save(src)
    w = filled(tmp_path, "example-tiny", 1000.0)
    for backend in backends_for("example-tiny"):
        out = tmp_path / f"o-{backend}.png"
        code, errors = run(["upscale", str(src), "-o", str(out), "-m", "example-tiny", "-q", "--weights", str(w),
                            "--backend", backend], capsys)
        assert code == 1 and not out.exists() and len(errors) == 1, (backend, errors)
        assert "produced NaN, infinite or absurd values, so no image was written" in errors[0]


def test_good_weights_still_load_and_every_loader_checks(tmp_path):
    """The check sits in load_into, which zoo.load, zoo convert and a training's init_from all use."""
    from zoo_core.errors import WeightsError
    from zoo_core.weights.safetensors_io import check_finite

    tensors, _ = load_safetensors(zoo.fetch("example-tiny"))
    check_finite(tensors, "ok")  # the shipped weights pass
    bad = dict(tensors)
    name = sorted(bad)[-1]
    bad[name] = bad[name].clone().view(-1)
    bad[name][-1] = float("nan")  # one NaN among good values is enough
    with pytest.raises(WeightsError, match=f"tensor '{name}' holds NaN"):
        check_finite(bad, "one.safetensors")
    assert zoo.load("example-tiny", backend="torch").upscale(Image.new("RGB", (4, 4))).size == (8, 8)
