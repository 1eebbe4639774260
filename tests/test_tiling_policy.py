"""One tiling policy (zoo_core/infer/tiling.py) decides tile, batch and layout; nothing else in zoo_core does."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zoo
from zoo_core.infer import tiling

ROOT = Path(__file__).resolve().parents[1] / "zoo_core"
POLICY = ROOT / "infer" / "tiling.py"
# what decides a tile or a batch: the budget's and the planner's calculators, the user's sizes being checked
DECIDERS = {"capped_tile", "fitting_workers", "whole_image_side", "TilePlanner", "default_tile", "default_batch"}
DEFINED_IN = {ROOT / "cost.py", ROOT / "tile_plan.py"}  # where the calculators live (and call one another)


def _decisions(path: Path) -> list[str]:
    """'file:line what' for each call that decides a tile or batch, or checks a given tile_size/batch_size."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        sizes = [a.value for a in node.args[:1] if isinstance(a, ast.Constant)]
        if name in DECIDERS or (name == "optional" and sizes and sizes[0] in ("tile_size", "batch_size")) or (
                name == "layout" and isinstance(node.func, ast.Attribute) and "planner" in ast.unparse(node.func)):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_only_the_policy_decides_tiles_and_batches():
    hits = [h for p in ROOT.rglob("*.py") if p != POLICY and p not in DEFINED_IN for h in _decisions(p)]
    assert not hits, f"ask zoo_core.infer.tiling instead: {hits}"
    assert len(_decisions(POLICY)) >= 6  # the walk sees the policy's own decisions


def test_a_tile_named_for_an_image_wins_else_the_model_default_else_the_device_default():
    ask = dict(batch=None, device="cpu", planner=None, gathers=False)
    assert tiling.layout(4096, 4096, given=96, tile=200, **ask) == (96, 1)
    assert tiling.layout(4096, 4096, given=None, tile=200, **ask) == (200, 1)
    assert tiling.layout(4096, 4096, given=None, tile=None, **ask) == (tiling.DEFAULT_TILE, 1)
    assert tiling.layout(4096, 4096, given=None, tile=None, **{**ask, "device": "cuda"}) == (512, 4)


@pytest.mark.parametrize("tile, batch, what", [(0, None, "tile_size"), (4, None, "tile_size"), (None, 0, "batch_size"),
                                               ("big", None, "tile_size")])
def test_load_and_a_hand_built_upscaler_refuse_sizes_through_the_same_check(tile, batch, what):
    with pytest.raises(zoo.ZooError, match=what) as by_policy:
        tiling.checked_sizes(tile, batch)
    with pytest.raises(zoo.ZooError) as by_load:
        zoo.load("example-tiny-nearest", tile_size=tile, batch_size=batch)
    assert str(by_load.value) == str(by_policy.value) and "\n" not in str(by_load.value)
    up = zoo.load("example-tiny-nearest", backend="torch")
    with pytest.raises(zoo.ZooError) as by_upscaler:
        type(up)(card=up.card, geometry=up.geometry, runner=up.runner, backend="torch", device="cpu",
                 precision="fp32", tile_size=tile, batch_size=batch)
    assert str(by_upscaler.value) == str(by_policy.value)
