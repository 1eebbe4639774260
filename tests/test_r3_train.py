"""Issue 25 items 3, 11 and 14 (train): numbers, YAML size, run folders and export names checked before any write;
a stopped run exits non-zero; a diverged one exports nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from zoo_core.cli import main
from zoo_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def tiny(tmp_path: Path, **extra) -> dict:
    cfg = {
        "name": "tiny",
        "model": {"architecture": "drrn-lite", "hyperparameters": {"channels": 4, "recursions": 1}},
        "data": {"synthetic": {"count": 3, "size": 64, "seed": 5}, "patch_size": 32, "max_patch_per_img": 2},
        "optim": {"steps": 4, "batch_size": 2, "lr": 0.01, "warmup_steps": 1, "threads": 1},
        "validate": {"every": 2, "synthetic": {"count": 1, "size": 32, "seed": 999}},
        "run_dir": str(tmp_path / "run"),
        "checkpoint_every": 2,
        "log_every": 1,
    }
    cfg.update(extra)
    return cfg


def write(tmp_path: Path, data, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def one_line(argv: list[str], capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, (code, err)
    lines = [ln for ln in err.splitlines() if ln.startswith("zoo: error: ")]
    assert len(lines) == 1, err
    return lines[0]


SETS = [  # each was a traceback or a NaN-trained, exported card with exit 0
    ("optim.lr=.nan", "is nan; give a finite number"),
    ("optim.min_lr=.nan", "is nan"),
    ("optim.weight_decay=.inf", "is inf"),
    ("optim.betas=[2,3]", "optim.betas[0] must be a number from 0 to"),
    ("optim.betas=[a]", "optim.betas is ['a']"),
    ("optim.betas=[]", "optim.betas is []"),
    ("data.workers=-1", "data.workers must be an integer from 0 to 256, got -1"),
    ("optim.device=cuda", "optim.device is 'cuda' but this machine has no CUDA GPU"),
    ("optim.device=meta", "optim.device is 'meta'"),
    ("optim.device=x", "optim.device is 'x'"),
    ("optim.seed=123456789012345678901234567890", "optim.seed must be an integer from 0"),
    ("data.synthetic.seed=-1", "data.synthetic.seed must be an integer from 0"),
    ("model.hyperparameters.channels=0", "channels must be an integer from 1"),
    ("optim.steps.x=1", "'optim.steps' is 4, not a group of keys"),
    ("optim.lr=[x", "--set optim.lr is not valid YAML"),
    ("loss.options.eps=.nan", "is nan"),
    ("optim.lr=100", "optim.lr must be a number from 1e-12 to 10"),
    ("optim.min_lr=0.5", "optim.min_lr (0.5) is above optim.lr"),
    ("optim.ema=-0.1", "ema in [0, 1)"),
    ("data.synthetic.size=30000", "data.synthetic.size must be an integer from 8 to 16384"),
    ("export.card_name=../../x", "export.card_name '../../x' is not a card name"),
    ("export.card_name=evil\nname", "is not a card name"),
]


@pytest.mark.slow  # about 0.5 s a case (the CLI and the registry)
@pytest.mark.parametrize("setting,words", SETS, ids=[s for s, _ in SETS])
def test_bad_numbers_and_keys_are_one_line_before_any_write(setting, words, tmp_path, capsys):
    if setting.startswith("optim.device=cuda"):
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA GPU, so optim.device=cuda is valid here")
    cfg = write(tmp_path, tiny(tmp_path))
    err = one_line(["train", str(cfg), "--set", setting], capsys)
    assert words in err, err
    assert not (tmp_path / "run").exists()  # refused before the run folder was made


def test_memory_estimates_refuse_before_allocating(tmp_path):
    from zoo_core.train.config import from_dict, TrainConfig
    from zoo_core.train.guard import check_memory

    cfg = from_dict(TrainConfig, tiny(tmp_path, optim={"batch_size": 100000}, data={
        "synthetic": {"count": 1, "size": 16384}, "patch_size": 192}))
    with pytest.raises(ConfigError, match=r"data.synthetic.size would need at least .* GiB"):
        check_memory(cfg, total=2 << 30)
    cfg.data.synthetic.size = 64
    with pytest.raises(ConfigError, match=r"optim.batch_size would need at least .* lower optim.batch_size"):
        check_memory(cfg, total=2 << 30)
    cfg.optim.batch_size = 16
    check_memory(cfg, total=2 << 30)  # the shipped recipes' sizes pass


def test_batch_size_beyond_memory_is_one_line(tmp_path, capsys):
    from zoo_core.train.guard import memory_total

    big = memory_total() // (4 * 3 * 4 * 32 * 32) + 1  # just over this machine's memory for 32px patches
    err = one_line(["train", str(write(tmp_path, tiny(tmp_path))), "--set", f"optim.batch_size={big}"], capsys)
    assert "optim.batch_size would need at least" in err


def test_top_level_list_and_alias_bomb(tmp_path, capsys):
    err = one_line(["train", str(write(tmp_path, "- a\n- b\n", "list.yaml"))], capsys)
    assert "must be a mapping of keys" in err
    err = one_line(["train", str(write(tmp_path, "- a\n", "list2.yaml")), "--set", "optim.steps=3"], capsys)
    assert "must be a mapping of keys" in err
    base = yaml.safe_dump(tiny(tmp_path))
    bomb = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"x{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
        f"*a{i - 1}]\n" for i in range(1, 9))
    text = bomb.replace("x8:", "exclude:")
    cfg = write(tmp_path, base.replace("data:\n", "data:\n" + "".join("  " + ln + "\n" for ln in text.splitlines())))
    start = time.perf_counter()
    err = one_line(["train", str(cfg)], capsys)
    assert "expands to more than 100000 values" in err and time.perf_counter() - start < 5
    deep = "a: " + "[" * 30000 + "]" * 30000 + "\n"  # was a RecursionError
    assert "nested more than 64 levels deep" in one_line(["train", str(write(tmp_path, deep, "deep.yaml"))], capsys)


def test_export_name_is_refused_before_the_weights_are_written(tmp_path, capsys):
    """Was: card_name '../../../plugins/…/drrn-lite-2x' overwrote that tracked weights file, then was refused."""
    victim = tmp_path / "plugin" / "w.safetensors"
    victim.parent.mkdir()
    victim.write_bytes(b"tracked weights")
    name = os.path.relpath(victim.with_suffix(""), tmp_path / "run" / "export")
    err = one_line(["train", str(write(tmp_path, tiny(tmp_path, export={"card_name": name})))], capsys)
    assert "is not a card name" in err and victim.read_bytes() == b"tracked weights"
    assert not (tmp_path / "run").exists()


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def test_run_dir_must_be_zoos_own(tmp_path, capsys):
    """Was: run_dir configs/resume/drrn-lite let pruning delete a tracked checkpoint; run_dir / wrote /ckpt-*."""
    repo = tmp_path / "repo"
    tracked = repo / "configs" / "resume"
    tracked.mkdir(parents=True)
    for step in (1, 2, 3, 4):
        (tracked / f"ckpt-0000000{step}.safetensors").write_bytes(b"x")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "c")
    err = one_line(["train", str(write(tmp_path, tiny(tmp_path, run_dir=str(tracked))))], capsys)
    assert "holds files tracked by git" in err and len(list(tracked.iterdir())) == 4
    assert "is the filesystem's root" in one_line(["train", str(write(tmp_path, tiny(tmp_path, run_dir="/")))], capsys)
    mine = tmp_path / "pictures"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"j")
    err = one_line(["train", str(write(tmp_path, tiny(tmp_path, run_dir=str(mine))))], capsys)
    assert "holds files zoo did not write ('holiday.jpg'" in err and sorted(os.listdir(mine)) == ["holiday.jpg"]
    (tmp_path / "afile").write_text("x")
    err = one_line(["train", str(write(tmp_path, tiny(tmp_path, run_dir=str(tmp_path / "afile"))))], capsys)
    assert "is not a folder" in err and (tmp_path / "afile").read_text() == "x"


def test_pruning_deletes_only_in_a_claimed_folder(tmp_path):
    import torch
    from torch import nn

    from zoo_core.train.checkpoint import save_checkpoint
    from zoo_core.train.guard import RUN_MARK, claim_run_dir

    model = nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    alien = tmp_path / "alien"
    alien.mkdir()
    for step in range(1, 6):
        save_checkpoint(alien / f"ckpt-{step:08d}.safetensors", step=step, model=model, ema=None, optimizer=opt,
                        extra={}, keep=2)
    assert len(list(alien.iterdir())) == 5  # no mark: nothing deleted
    ours = tmp_path / "ours"
    claim_run_dir(ours)
    for step in range(1, 6):
        save_checkpoint(ours / f"ckpt-{step:08d}.safetensors", step=step, model=model, ema=None, optimizer=opt,
                        extra={}, keep=2)
    assert sorted(p.name for p in ours.iterdir()) == [RUN_MARK, "ckpt-00000004.safetensors", "ckpt-00000005.safetensors"]


def test_an_older_zoo_run_folder_is_still_resumed(tmp_path):
    from zoo_core.train.guard import RUN_MARK, claim_run_dir

    old = tmp_path / "runs" / "old"
    (old / "export").mkdir(parents=True)
    (old / "ckpt-00000500.safetensors").write_bytes(b"x")
    (old / "log.jsonl").write_text("{}\n")
    claim_run_dir(old)
    assert (old / RUN_MARK).is_file()


def test_fifo_in_data_dirs_is_never_opened(tmp_path, capsys):
    from PIL import Image

    from zoo_core.errors import ImageError
    from zoo_core.train.dataset import image_files, load_images

    folder = tmp_path / "hr"
    folder.mkdir()
    Image.new("RGB", (40, 40), (1, 2, 3)).save(folder / "a.png")
    os.mkfifo(folder / "pipe.png")
    assert image_files([folder]) == [folder / "a.png"]  # on the old code load_images then blocked for ever
    assert "pipe.png is not a regular file" in capsys.readouterr().err
    with pytest.raises(ImageError, match="not a regular file"):
        load_images([folder / "pipe.png"])


def nan_loss_plugin(install_plugin) -> None:
    install_plugin("zoo-nanloss", "zoo_nanloss", """
        import zoo

        def nan_after_two(**options):
            calls = []
            def loss(pred, target):
                calls.append(1)
                value = ((pred - target) ** 2).mean()
                return value * float("nan") if len(calls) > 2 else value
            return loss

        @zoo.hookimpl
        def register_losses(register):
            register(zoo.LossSpec(name="nan-after-two", create=nan_after_two, description="NaN from step 3"))
    """)


@pytest.mark.slow
def test_a_nan_loss_stops_the_run_and_exports_nothing(tmp_path, capsys, install_plugin):
    nan_loss_plugin(install_plugin)
    cfg = tiny(tmp_path, loss={"name": "nan-after-two"}, checkpoint_every=1, optim={
        "steps": 6, "batch_size": 2, "lr": 0.01, "warmup_steps": 1, "threads": 1})
    err = one_line(["train", str(write(tmp_path, cfg))], capsys)
    assert "Training diverged at step 3: the loss is nan. Nothing was exported" in err
    run = tmp_path / "run"
    assert not (run / "export").exists()
    assert sorted(p.name for p in run.glob("ckpt-*")) == ["ckpt-00000001.safetensors", "ckpt-00000002.safetensors"]


@pytest.mark.slow
def test_sigint_checkpoints_and_exits_130(tmp_path, capsys, install_plugin):
    """Was: exit 0 after a signal, as if training had finished (in-process: a loss that signals at its 3rd call)."""
    install_plugin("zoo-sigloss", "zoo_sigloss", """
        import os, signal
        import zoo

        def signals(**options):
            calls = []
            def loss(pred, target):
                calls.append(1)
                if len(calls) == 3:
                    os.kill(os.getpid(), signal.SIGINT)
                return ((pred - target) ** 2).mean()
            return loss

        @zoo.hookimpl
        def register_losses(register):
            register(zoo.LossSpec(name="sigint-at-three", create=signals, description="SIGINT at step 3"))
    """)
    cfg = tiny(tmp_path, loss={"name": "sigint-at-three"}, checkpoint_every=0, validate={"every": 0})
    assert main(["train", str(write(tmp_path, cfg))]) == 130
    err = capsys.readouterr().err
    assert "zoo: stopped at step 3" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "run").glob("ckpt-*")] == ["ckpt-00000003.safetensors"]
    assert not (tmp_path / "run" / "export").exists()


@pytest.mark.slow
def test_sigterm_checkpoints_and_exits_143(tmp_path):
    """Was: SIGTERM saved a checkpoint and exited 0, as if training had finished (a real signal, a real process)."""
    cfg = write(tmp_path, tiny(tmp_path, optim={"steps": 100000, "batch_size": 2, "lr": 0.01, "warmup_steps": 1,
                                                "threads": 1}, validate={"every": 0}, checkpoint_every=0))
    proc = subprocess.Popen([sys.executable, "-m", "zoo", "train", str(cfg)], cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # progress lines come every step (log_every 1)
        lines.append(line)
        if line.startswith("step 2/"):
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert code == 143, "".join(lines) + rest
    assert "zoo: stopped at step" in rest and "Traceback" not in rest
    assert list((tmp_path / "run").glob("ckpt-*.safetensors")) and not (tmp_path / "run" / "export").exists()
