"""The recipe options the transfer ablation uses: per-folder repeat, flips-only augmentation, flat-patch redraws."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import zoo
from zoo_core.train.config import load_config
from zoo_core.train.dataset import PatchDataset, augment
from zoo_core.train.degradations import SeedJpeg
from zoo_core.train.export import recipe
from zoo_core.train.parts import build_parts
from zoo_core.train.synthetic import synthetic_image


def _geo():
    return zoo.get_registry().architecture("drrn-lite").geometry()


def test_flips_only_never_rotates() -> None:
    img = synthetic_image(1, 64).crop((0, 0, 64, 48))  # not square: a rotation would change the size
    ds = PatchDataset([img], patch_size=48, max_patch_per_img=1, degradation=SeedJpeg(noise_level=0),
                      geometry=_geo(), seed=3, augment="flips", sampling="random")
    crops = {ds.epoch_patches(e)[0][1] for e in range(1)}
    box = next(iter(crops))
    plain, mirrored = img.crop(box), augment(img.crop(box), 4)
    seen = set()
    for g in range(0, 40):
        _, hr = ds[g]
        arr = (hr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        i, b = ds.epoch_patches(g // len(ds))[g % len(ds)]
        options = {"plain": np.asarray(img.crop(b)), "mirror": np.asarray(augment(img.crop(b), 4))}
        match = [k for k, v in options.items() if np.array_equal(v, arr)]
        assert match, "a flips-only sample is neither the crop nor its mirror (rotated?)"
        seen.add(match[0])
    assert seen == {"plain", "mirror"} and plain.size == mirrored.size


def test_flat_patches_are_redrawn() -> None:
    flat = Image.new("RGB", (256, 256), (255, 255, 255))
    flat.paste(synthetic_image(2, 64), (180, 180))  # detail in one corner only
    make = lambda std: PatchDataset([flat] * 30, patch_size=48, max_patch_per_img=4, degradation=SeedJpeg(noise_level=0),
                                    geometry=_geo(), seed=1, sampling="random", min_std=std)
    grey = np.asarray(flat.convert("L"), dtype=np.float32)
    share = lambda ds: np.mean([grey[y0:y1, x0:x1].std() >= 4 for _, (x0, y0, x1, y1) in ds.epoch_patches(0)])
    assert share(make(0.0)) < 0.3 and share(make(4.0)) > share(make(0.0)) + 0.4  # 8 redraws: most find detail


def test_dir_repeat_weighs_one_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    synthetic_image(3, 96).save(a / "x.png")
    synthetic_image(4, 96).save(b / "y.png")
    cfg = {"model": {"architecture": "drrn-lite", "hyperparameters": {"channels": 4, "units": 1}},
           "data": {"dirs": [str(a), str(b)], "dir_repeat": {str(a): 5}, "patch_size": 32, "max_patch_per_img": 1,
                    "augment": "flips", "min_patch_std": 2.5},
           "validate": {"synthetic": {"count": 1, "size": 32}}, "run_dir": str(tmp_path / "run")}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    loaded = load_config(path)
    assert len(build_parts(loaded).dataset) == 6  # 5 copies of a's picture + 1 of b's, one patch each
    assert "counted 5 times" in recipe(loaded) and "horizontal flips only" in recipe(loaded)
    for bad in ({"data.dir_repeat": {str(tmp_path / "c"): 2}}, {"data.augment": "rot"}, {"data.min_patch_std": -1}):
        with pytest.raises(zoo.ConfigError, match=next(iter(bad)).split(".")[1]):
            load_config(path, bad)


def test_corpus_source_left_out_and_files_excluded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo_core.data import prepare
    from zoo_core.train.dataset import corpus_images

    files = []
    for i, pkg in enumerate(["art", "art", "clip", "clip", "clip"]):
        files.append((tmp_path / f"{pkg}-{i}.png", pkg))
        synthetic_image(i, 40).save(files[-1][0])
    monkeypatch.setattr(prepare, "split_entries", lambda name, split, root=None: files)
    assert len(corpus_images("toy", [1.0], {"art": 3})) == 2 * 3 + 3
    assert len(corpus_images("toy", [1.0], {"art": 3, "clip": 0})) == 6  # the clip art left out
    assert len(corpus_images("toy", [1.0], {"clip": 0}, exclude=["art-0.png"])) == 1
    with pytest.raises(zoo.ConfigError, match="not a source"):
        corpus_images("toy", [1.0], {"nope": 0})


def test_init_from_a_checkpoint_takes_its_ema_weights(tmp_path: Path) -> None:
    import torch

    from zoo_core.train.checkpoint import save_checkpoint
    from zoo_core.train.init_from import init_from

    arch = zoo.get_registry().architecture("drrn-lite")
    hp = arch.resolve_hyperparameters({"channels": 4, "units": 1})
    model = arch.create(hp)
    ema = {k: torch.full_like(v, 0.25) for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters())
    save_checkpoint(tmp_path / "ckpt-00000007.safetensors", step=7, model=model, ema=ema, optimizer=opt, extra={})
    fresh = arch.create(hp)
    init_from(fresh, str(tmp_path / "ckpt-00000007.safetensors"), arch_id="drrn-lite", hyperparameters=hp)
    assert all(torch.equal(v, ema[k]) for k, v in fresh.state_dict().items())
