"""One path per job (issue 14): each of these is defined once in zoo_core, and the shared ones behave as both users need."""
from __future__ import annotations

import ast
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo_core.architecture import Geometry

CORE = Path(__file__).resolve().parents[1] / "zoo_core"


def _definitions() -> dict[str, list[str]]:
    """Module-level names (assignments, functions, classes) → the files defining them."""
    found: dict[str, list[str]] = {}
    for path in CORE.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.append(node.target.id)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.append(node.name)
            for name in names:
                found.setdefault(name, []).append(str(path.relative_to(CORE)))
    return found


def test_each_shared_thing_is_defined_once() -> None:
    defs = _definitions()
    for name in ("IMAGE_SUFFIXES", "LOOPBACK", "quantize", "reference", "Job", "MAX_SCALE", "tile_count"):
        assert len(defs.get(name, [])) == 1, (name, defs.get(name))


def test_only_infer_shard_starts_a_torchrun_group() -> None:
    callers = [str(p.relative_to(CORE)) for p in CORE.rglob("*.py") if "init_process_group(" in p.read_text()]
    assert callers == ["infer/shard.py"]


def test_training_reads_the_suffixes_upscale_reads(tmp_path: Path) -> None:
    from PIL import Image

    from zoo_core.infer import jobs
    from zoo_core.train import dataset

    assert dataset.IMAGE_SUFFIXES is jobs.IMAGE_SUFFIXES
    for name in ("a.png", "b.tif", "c.webp", "notes.txt"):
        (Image.new("RGB", (4, 4)).save(tmp_path / name) if name != "notes.txt" else (tmp_path / name).write_text("x"))
    assert [p.name for p in dataset.image_files([tmp_path])] == ["a.png", "b.tif", "c.webp"]


def test_validation_reference_honours_size_multiple() -> None:
    """train/metrics.upscale_module is infer/tiler.reference: a stride-4 net gets sides padded to 4."""
    from zoo_core.infer.tiler import reference
    from zoo_core.train.metrics import upscale_module

    seen: list[tuple[int, int]] = []

    def net(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        assert x.shape[-2] % 4 == 0 and x.shape[-1] % 4 == 0, x.shape
        return F.interpolate(x, scale_factor=2, mode="nearest")

    geo = Geometry(scale=2, in_channels=3, out_channels=3, offset=0, context=1, size_multiple=4)
    lr = torch.rand(2, 3, 9, 7)
    out = upscale_module(net, geo, lr)
    assert out.shape == (2, 3, 18, 14) and seen[0] == (12, 12)
    assert torch.equal(out[1], reference(net, lr[1], geo))  # batched and single images agree
    assert torch.equal(out, F.interpolate(lr, scale_factor=2, mode="nearest"))


def test_single_process_joins_no_group(monkeypatch) -> None:
    import torch.distributed as dist

    from zoo_core.infer import shard
    from zoo_core.train import trainer

    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(dist, "init_process_group", lambda **kw: (_ for _ in ()).throw(AssertionError(kw)))
    assert trainer._dist_env() == (0, 1)
    shard.join(shard.from_env(), "gloo")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert shard.from_env() == shard.Rank(1, 2, 1)
