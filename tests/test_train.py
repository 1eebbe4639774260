"""Trainer, config, patch pipeline, checkpoints and export, on tiny models and images."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

import zoo
from zoo_core.cli import main
from zoo_core.cards import load_card_file
from zoo_core.train.checkpoint import latest_checkpoint
from zoo_core.train.config import TrainConfig, from_dict, load_config
from zoo_core.train.dataset import PatchDataset, StepBatchSampler, box_detail, detail_table, grid_boxes, to_tensor
from zoo_core.train.degradations import SeedJpeg
from zoo_core.train.export import export
from zoo_core.train.optim import lr_at
from zoo_core.train.parts import build_parts
from zoo_core.train.synthetic import synthetic_image, synthetic_images
from zoo_core.train.trainer import train
from zoo_core.weights.safetensors_io import load_into, load_safetensors, sha256_file


def tiny(tmp_path: Path, **optim) -> dict:
    return {
        "name": "tiny",
        "model": {"architecture": "drrn-lite", "hyperparameters": {"channels": 4, "recursions": 1}},
        "data": {"synthetic": {"count": 3, "size": 64, "seed": 5}, "patch_size": 32, "max_patch_per_img": 2},
        "degradation": {"name": "seed-jpeg", "options": {"noise_level": 1}},
        "optim": {"steps": 4, "batch_size": 2, "lr": 0.01, "warmup_steps": 1, "threads": 1, "ema": 0.5,
                  "clip_grad": 1.0, **optim},
        "validate": {"every": 2, "synthetic": {"count": 1, "size": 32, "seed": 999}},
        "run_dir": str(tmp_path / "run"),
        "checkpoint_every": 2,
        "log_every": 1,
        "export": {"weights": str(tmp_path / "w.safetensors"), "card": str(tmp_path / "card.yaml"), "card_name": "tiny"},
    }


def test_unknown_keys_rejected_by_name(tmp_path: Path) -> None:
    data = tiny(tmp_path)
    data["optim"]["stepz"] = 3
    with pytest.raises(zoo.ConfigError, match=r"optim\.stepz"):
        from_dict(TrainConfig, data)
    with pytest.raises(zoo.ConfigError, match="'optim.steps' must be int"):
        from_dict(TrainConfig, {**tiny(tmp_path), "optim": {"steps": "many"}})


def test_load_config_with_overrides_and_cli_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(tmp_path)))
    assert load_config(path, {"optim.steps": 7}).optim.steps == 7
    path.write_text(yaml.safe_dump({**tiny(tmp_path), "dataa": {}}))
    assert main(["train", str(path)]) == 1
    err = capsys.readouterr().err
    assert "'dataa'" in err and len(err.strip().splitlines()) == 1
    assert main(["train", str(path), "--set", "nokey"]) == 1


def test_grid_and_max_patch_per_img() -> None:
    assert grid_boxes((100, 70), 32) == [(0, 0, 32, 32), (0, 32, 32, 64), (32, 0, 64, 32), (32, 32, 64, 64),
                                         (64, 0, 96, 32), (64, 32, 96, 64)]
    geo = zoo.get_registry().architecture("espcn7").geometry()
    ds = PatchDataset(synthetic_images(2, size=96), patch_size=32, max_patch_per_img=4,
                      degradation=SeedJpeg(noise_level=0), geometry=geo, seed=1)
    assert len(ds) == 8  # 9 grid cells each, 4 sampled
    assert len({b for _, b in ds.epoch_patches(0)}) <= 8 and ds.epoch_patches(0) != ds.epoch_patches(1)


def test_random_sampling_gives_new_crops_for_repeated_images() -> None:
    geo = zoo.get_registry().architecture("espcn7").geometry()
    img = synthetic_image(5, 100)
    make = lambda sampling: PatchDataset([img] * 3 + [synthetic_image(6, 20)], patch_size=32, max_patch_per_img=4,
                                         degradation=SeedJpeg(noise_level=0), geometry=geo, seed=1, sampling=sampling)
    grid, rand = make("grid"), make("random")
    assert len(grid) == len(rand) == 12  # the 20-pixel image gives no patch either way
    cells = set(grid_boxes(img.size, 32))
    assert {b for _, b in grid.epoch_patches(0)} <= cells
    boxes = [b for _, b in rand.epoch_patches(0)]
    assert all(0 <= x0 and 0 <= y0 and x1 - x0 == y1 - y0 == 32 and x1 <= 100 and y1 <= 100 for x0, y0, x1, y1 in boxes)
    assert len(set(boxes) - cells) > 6 and len(set(boxes)) > 10  # crops off the grid, different per copy
    assert rand.epoch_patches(0) == make("random").epoch_patches(0)  # still a pure function of the seed
    with pytest.raises(zoo.ConfigError, match="data.sampling is 'grd'"):
        make("grd")


def test_active_sampling_favours_detail() -> None:
    geo = zoo.get_registry().architecture("espcn7").geometry()
    flat = Image.new("RGB", (160, 160), (250, 240, 230))
    flat.paste(synthetic_image(7, 48), (100, 100))  # detail only in one corner
    make = lambda sampling: PatchDataset([flat] * 40, patch_size=32, max_patch_per_img=4,
                                         degradation=SeedJpeg(noise_level=0), geometry=geo, seed=2, sampling=sampling)
    table = detail_table(flat, 2)
    assert table[-1, -1] > 0 and box_detail(table, (0, 0, 88, 88)) == 0  # bicubic loses nothing on flat colour
    detail = lambda ds: [box_detail(table, box) for _, box in ds.epoch_patches(0)]
    rand, active = detail(make("random")), detail(make("active"))
    hit = lambda ds: sum(d > 0 for d in ds) / len(ds)
    assert hit(rand) < 0.35 and hit(rand) + 0.2 < hit(active) < 1  # half the boxes try 10, half stay plain random
    assert make("active").epoch_patches(0) == make("active").epoch_patches(0)


@pytest.mark.parametrize("arch_id", ["upconv7", "espcn7", "drrn-lite"])
def test_targets_align_with_each_architecture(arch_id: str) -> None:
    arch = zoo.get_registry().architecture(arch_id)
    geo = arch.geometry()
    img = synthetic_image(3, 96)
    ds = PatchDataset([img], patch_size=48, max_patch_per_img=1, degradation=SeedJpeg(noise_level=0),
                      geometry=geo, seed=0, augment=False)
    x, y = ds[0]
    i, box = ds.epoch_patches(0)[0]
    hr = to_tensor(img.crop(box))
    c = geo.offset * geo.scale
    assert torch.equal(y, hr[:, c:48 - c, c:48 - c])  # UpConv_7: 14 HR pixels per side are dropped
    with torch.no_grad():
        assert arch.create()(x[None]).shape[-2:] == y.shape[-2:]


def test_samples_are_a_pure_function_of_seed_and_index() -> None:
    geo = zoo.get_registry().architecture("drrn-lite").geometry()
    make = lambda: PatchDataset(synthetic_images(2, size=64), patch_size=32, max_patch_per_img=3,
                                degradation=zoo.get_registry().degradation("waifu2x").create(noise_level=2),
                                geometry=geo, seed=4)
    a, b = make(), make()
    for g in (0, 5, 17):
        assert all(torch.equal(u, v) for u, v in zip(a[g], b[g]))


def test_step_sampler_splits_global_batches_between_ranks() -> None:
    r0 = list(StepBatchSampler(start_step=3, steps=5, batch_size=2, rank=0, world=2))
    r1 = list(StepBatchSampler(start_step=3, steps=5, batch_size=2, rank=1, world=2))
    assert r0 == [[12, 13], [16, 17]] and r1 == [[14, 15], [18, 19]]


def test_warmup_then_cosine(tmp_path: Path) -> None:
    cfg = from_dict(TrainConfig, tiny(tmp_path, steps=100, warmup_steps=10, lr=1.0, min_lr=0.0))
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(55, cfg) == pytest.approx(0.5) and lr_at(100, cfg) == pytest.approx(0.0)


@pytest.mark.slow
def test_resume_is_exact_and_checkpoints_are_safetensors(tmp_path: Path) -> None:
    straight = train(from_dict(TrainConfig, tiny(tmp_path / "a")), resume=False)
    half = tiny(tmp_path / "b")
    half["optim"]["steps"] = 2
    train(from_dict(TrainConfig, half))
    resumed = train(from_dict(TrainConfig, tiny(tmp_path / "b")))
    assert resumed.step == 4
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    for k, v in straight.ema.items():
        assert torch.equal(v, resumed.ema[k]), k
    ckpt = latest_checkpoint(tmp_path / "b" / "run")
    assert ckpt.name == "ckpt-00000004.safetensors"
    tensors, meta = load_safetensors(ckpt)
    assert meta["step"] == "4" and any(k.startswith("optim.") and k.endswith("exp_avg_sq") for k in tensors)
    assert [h["step"] for h in resumed.history] == [2, 4]


@pytest.mark.slow
def test_training_lowers_the_loss_and_export_makes_a_loadable_card(tmp_path: Path) -> None:
    if "example-tiny" not in zoo.get_registry().architectures:
        pytest.skip("the example plugin (tests/example_plugin) is not installed; run scripts/setup.sh")
    data = tiny(tmp_path, steps=30, lr=0.02, ema=0.0)
    data["model"] = {"architecture": "example-tiny"}  # random init: far from the target, so it must learn
    data["validate"]["every"] = 30
    cfg = from_dict(TrainConfig, data)
    losses: list[float] = []

    class Record:
        def on_step(self, state) -> None:
            losses.append(state.loss)

    parts = build_parts(cfg)
    x, y = (torch.stack(t) for t in zip(*[parts.dataset[g] for g in range(8)]))
    loss_fn = zoo.get_registry().loss("weighted-mse").create()
    with torch.no_grad():
        before = float(loss_fn(parts.model(x), y))
    state = train(cfg, callbacks=[Record()], resume=False, parts=parts)
    with torch.no_grad():
        after = float(loss_fn(state.model(x), y))
    assert len(losses) == 30 and after < 0.5 * before
    weights, card_path = export(cfg, state.model, ema=None, step=state.step, metrics=state.last_validation,
                                hyperparameters={"scale": 2}, scale=2, command="zoo train x")
    card = load_card_file(card_path)
    assert card.weights["sha256"] == sha256_file(weights)
    val = card.metrics["psnr_y_2x_validation"]
    assert val["step"] == 30 and val["value"] > 10 and val["bicubic"] > 10
    assert card.upstream["command"] == "zoo train x" and "30 steps" in card.upstream["description"]
    module = zoo.get_registry().architecture("example-tiny").create(card.hyperparameters)
    load_into(module, load_safetensors(weights)[0], str(weights))


@pytest.mark.slow
def test_dataloader_workers_give_the_same_batches() -> None:
    from torch.utils.data import DataLoader

    geo = zoo.get_registry().architecture("drrn-lite").geometry()
    ds = PatchDataset(synthetic_images(2, size=64), patch_size=32, max_patch_per_img=4,
                      degradation=zoo.get_registry().degradation("waifu2x").create(noise_level=1), geometry=geo, seed=2)
    batches = []
    for workers in (0, 1):
        sampler = StepBatchSampler(start_step=1, steps=3, batch_size=3)
        batches.append([x for x, _ in DataLoader(ds, batch_sampler=sampler, num_workers=workers)])
    assert len(batches[0]) == 2 and all(torch.equal(a, b) for a, b in zip(*batches))


@pytest.mark.slow
def test_gradient_checkpointing_matches_and_bf16_trains(tmp_path: Path) -> None:
    plain = train(from_dict(TrainConfig, tiny(tmp_path / "a", steps=2)), resume=False)
    ckpt = train(from_dict(TrainConfig, tiny(tmp_path / "b", steps=2, checkpointing=True)), resume=False)
    for k, v in plain.model.state_dict().items():
        assert torch.allclose(v, ckpt.model.state_dict()[k], atol=1e-6), k
    assert "forward" not in vars(ckpt.model)  # the instance override is removed after training
    bf16 = train(from_dict(TrainConfig, tiny(tmp_path / "c", steps=2, bf16=True)), resume=False)
    assert bf16.step == 2 and torch.isfinite(torch.tensor(bf16.loss))


@pytest.mark.slow
def test_sigterm_checkpoints_then_stops_and_resume_finishes(tmp_path: Path) -> None:
    import os
    import signal

    class KillAtStep3:
        def on_step(self, state) -> None:
            if state.step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    cfg = from_dict(TrainConfig, tiny(tmp_path, steps=6))
    state = train(cfg, callbacks=[KillAtStep3()], resume=False)
    assert state.stopped and state.step == 3
    assert latest_checkpoint(tmp_path / "run").name == "ckpt-00000003.safetensors"
    before = signal.getsignal(signal.SIGTERM)
    assert train(cfg).step == 6
    assert signal.getsignal(signal.SIGTERM) is before  # the trainer restores the previous handler


@pytest.mark.slow
def test_repeat_weighs_folder_images_against_synthetic(tmp_path: Path) -> None:
    folder = tmp_path / "hr"
    folder.mkdir()
    synthetic_image(7, size=64).save(folder / "real.png")
    data = tiny(tmp_path)
    data["data"].update(dirs=[str(folder)], max_patch_per_img=4)  # 64px → a 2×2 grid of 32px patches
    counts = {}
    for repeat in (1, 5):
        data["data"]["repeat"] = repeat
        counts[repeat] = len(build_parts(from_dict(TrainConfig, data)).dataset)
    assert counts == {1: 4 + 3 * 4, 5: 5 * 4 + 3 * 4}  # real copies × grid + 3 synthetic × grid
    data["data"].update(repeat=2, scales=[1.0, 0.5])  # the 32px half-size copy gives one patch
    parts = build_parts(from_dict(TrainConfig, data))
    assert len(parts.dataset) == 2 * (4 + 1) + 3 * 4
    assert sorted({im.size for im in parts.dataset.images[:4]}) == [(32, 32), (64, 64)]
    data["data"]["scales"] = [1.0, 1.5]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(zoo.ConfigError, match=r"data.scales is \[1.0, 1.5\]"):
        load_config(path)
    data["data"].update(scales=["half"], sampling="grd")  # caught by the config check, before any image loads
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(zoo.ConfigError, match="data.sampling is 'grd'"):
        load_config(path)
    data["data"]["sampling"] = "grid"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(zoo.ConfigError, match=r"data.scales is \['half'\]"):
        load_config(path)
    data["data"]["scales"] = [1.0]
    data["data"]["repeat"] = 0
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(zoo.ConfigError, match="repeat >= 1"):
        load_config(path)


@pytest.mark.slow
def test_model_init_uses_the_models_own_scheme(tmp_path: Path) -> None:
    data = tiny(tmp_path)
    data["model"] = {"architecture": "espcn7", "init": "interpolate"}
    model = build_parts(from_dict(TrainConfig, data), with_data=False).model
    assert float(model.conv[0][0].weight[0, 0, 1, 1].detach()) == pytest.approx(1 / 1.0507009873554805)
    data["model"]["init"] = "identity"
    with pytest.raises(zoo.ConfigError, match="model.init is 'identity', but architecture 'espcn7' offers: interpolate"):
        build_parts(from_dict(TrainConfig, data), with_data=False)
    data["model"] = {"architecture": "drrn-lite", "init": "interpolate"}
    with pytest.raises(zoo.ConfigError, match="offers: none"):
        build_parts(from_dict(TrainConfig, data), with_data=False)


@pytest.mark.slow
def test_exported_card_file_loads_and_a_mismatched_card_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = from_dict(TrainConfig, tiny(tmp_path))
    parts = build_parts(cfg, with_data=False)
    hp = {"scale": 2, "channels": 4, "recursions": 1}
    weights, card_path = export(cfg, parts.model, ema=None, step=0, metrics={}, hyperparameters=hp, scale=2)
    up = zoo.load(str(card_path), weights=weights)  # a card file works wherever a card name does
    assert up.card.hyperparameters == hp and up.upscale(synthetic_image(1, 16)).size == (32, 32)
    other = tmp_path / "other.yaml"  # DRRN's recursions change no tensor shape: only the metadata can tell
    other.write_text(card_path.read_text().replace("recursions: 1", "recursions: 2"))
    with pytest.raises(zoo.ZooError, match="made with recursions=1, but card 'tiny' builds recursions=2"):
        zoo.load(str(other), weights=weights)
    folder = tmp_path / "hr"
    folder.mkdir()
    synthetic_image(2, 32).save(folder / "a.png")
    assert main(["eval", "drrn-lite", str(folder), "--weights", str(weights)]) == 1
    err = capsys.readouterr().err
    assert "made with channels=4" in err and "but card 'drrn-lite' builds channels=32" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["eval", str(tmp_path / "missing.yaml"), str(folder)]) == 1
    assert "Card file" in capsys.readouterr().err


def test_bf16_auto_follows_the_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo_core import cpu_features
    from zoo_core.train.config import OptimConfig, use_bf16
    from zoo_core.errors import ConfigError

    monkeypatch.setattr(cpu_features, "native_bf16", lambda flags=None: False)
    assert not use_bf16(OptimConfig(bf16="auto")) and use_bf16(OptimConfig(bf16=True))
    assert use_bf16(OptimConfig(bf16="auto", device="cuda"))
    monkeypatch.setattr(cpu_features, "native_bf16", lambda flags=None: True)
    assert use_bf16(OptimConfig(bf16="auto")) and not use_bf16(OptimConfig(bf16=False))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**tiny(tmp_path), "optim": {"bf16": "sometimes"}}))
    with pytest.raises(ConfigError, match="optim.bf16 is 'sometimes'"):
        load_config(path)
