"""From a TrainConfig to the built parts a Trainer takes: model, patch dataset, loss and validation pairs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..architecture import Geometry
from ..errors import ConfigError
from ..interfaces import Degradation
from ..registry import get_registry
from .config import TrainConfig
from .dataset import PatchDataset, corpus_files, corpus_images, image_files, load_images, rescaled, spread
from .init_from import init_from
from .protocols import init_weights, require_checkpointing
from .synthetic import synthetic_images
from .validation import ValPair, make_pairs, validation_images


@dataclass
class Parts:
    """Everything built from a config."""

    model: nn.Module
    geometry: Geometry
    dataset: PatchDataset | None
    loss: Any
    val_pairs: list[ValPair]


def build_parts(cfg: TrainConfig, *, with_data: bool = True) -> Parts:
    """Model, dataset (unless with_data=False), loss and validation pairs, all from the registry by name."""
    model, geometry = build_model(cfg)
    degradation, loss = _degradation_and_loss(cfg)
    dataset = _dataset(cfg, degradation, geometry) if with_data else None
    return Parts(model, geometry, dataset, loss, _val_pairs(cfg, degradation, geometry))


def build_model(cfg: TrainConfig) -> tuple[nn.Module, Geometry]:
    """The architecture with its hyperparameters, seeded, started from the model's own init when asked."""
    arch = get_registry().architecture(cfg.model.architecture)
    hp = arch.resolve_hyperparameters(cfg.model.hyperparameters)
    torch.manual_seed(cfg.optim.seed)
    model = arch.create(hp)
    if cfg.model.init:  # a resumed run then overwrites it from the checkpoint (as it does init_from's weights)
        init_weights(model, cfg.model.architecture, cfg.model.init)
    if cfg.model.init_from:
        init_from(model, cfg.model.init_from, arch_id=cfg.model.architecture, hyperparameters=hp,
                  subset=cfg.model.init_from_subset)
    if cfg.optim.checkpointing:
        require_checkpointing(model, cfg.model.architecture)
    return model, arch.geometry(hp)


def _degradation_and_loss(cfg: TrainConfig) -> tuple[Degradation, Any]:
    """The registered degradation and loss with the config's options."""
    reg = get_registry()
    deg_spec, loss_spec = reg.degradation(cfg.degradation.name), reg.loss(cfg.loss.name)
    try:
        degradation = deg_spec.create(**{**deg_spec.options, **cfg.degradation.options})
        loss = loss_spec.create(**cfg.loss.options)
    except TypeError as exc:
        raise ConfigError(f"Bad options for degradation '{deg_spec.name}' or loss '{loss_spec.name}': {exc}.") from None
    return degradation, loss


def _dataset(cfg: TrainConfig, degradation: Degradation, geometry: Geometry) -> PatchDataset:
    """Folder images (rescaled), corpus images and synthetic ones, cut into patches."""
    d = cfg.data
    images = []
    for folder in d.dirs:  # each folder's pictures d.dir_repeat[folder] times (the mix of sources)
        images += rescaled(load_images(image_files([folder], d.exclude)), d.scales) * d.dir_repeat.get(folder, 1)
    images = (images + (corpus_images(d.corpus, d.scales, d.source_repeat, d.exclude) if d.corpus else [])) * d.repeat
    images += synthetic_images(d.synthetic.count, size=d.synthetic.size, seed=d.synthetic.seed)
    return PatchDataset(images, patch_size=d.patch_size, max_patch_per_img=d.max_patch_per_img,
                        degradation=degradation, geometry=geometry, seed=cfg.optim.seed, augment=d.augment,
                        sampling=d.sampling, min_std=d.min_patch_std)


def _val_pairs(cfg: TrainConfig, degradation: Degradation, geometry: Geometry) -> list[ValPair]:
    """Held-out files, a spread of the corpus's val split and synthetic images as LR/HR pairs."""
    v = cfg.validate
    held = list(v.files) + ([str(f) for f in spread(corpus_files(v.corpus, "val"), v.count)] if v.corpus else [])
    val = validation_images(held, v.synthetic.count, v.synthetic.size, v.synthetic.seed)
    return make_pairs(val, degradation=degradation, scale=geometry.scale, max_side=v.max_side)
