"""The committed training configs agree with what ships: init_from, export paths, cards and resume folders."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from zoo_core.train.config import load_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
RESUME = sorted(p for p in (REPO / "configs" / "resume").iterdir() if p.is_dir())


def test_there_are_configs_and_resume_folders_to_check():
    assert CONFIGS and RESUME


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_config_names_files_that_exist(path):
    cfg = load_config(path)
    assert path.stem == cfg.name and cfg.run_dir == f"runs/{cfg.name}"  # resume finds runs/NAME
    assert not cfg.model.init_from or (REPO / cfg.model.init_from).is_file(), cfg.model.init_from
    assert cfg.export.card_name == cfg.name
    assert (REPO / cfg.export.weights).is_file(), cfg.export.weights
    assert cfg.export.weights_ref.endswith(Path(cfg.export.weights).name)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_config_and_the_card_it_exports_describe_one_model(path):
    cfg = load_config(path)
    card = yaml.safe_load((REPO / cfg.export.card).read_text())
    assert card["name"] == cfg.name and card["weights"]["file"] == cfg.export.weights_ref
    assert card["architecture"] == cfg.model.architecture
    assert card["hyperparameters"] == {**card["hyperparameters"], **cfg.model.hyperparameters}


@pytest.mark.parametrize("folder", RESUME, ids=lambda p: p.name)
def test_a_resume_folder_belongs_to_a_config(folder):
    """configs/resume/NAME is copied into runs/: NAME must be a config whose run_dir is runs/NAME."""
    assert load_config(REPO / "configs" / f"{folder.name}.yaml").run_dir == f"runs/{folder.name}"
    assert list(folder.glob("ckpt-*.safetensors"))
