"""Start a run from trained weights (fine-tuning, e.g. a denoising variant from the 2x model)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from torch import nn

from ..errors import ConfigError
from ..weights.safetensors_io import load_into, load_safetensors


def init_from(model: nn.Module, path: str, *, arch_id: str, hyperparameters: Mapping[str, Any],
              subset: bool = False) -> None:
    """Load `path` (weights, or a `zoo train` checkpoint: its EMA weights) into `model` after checking it was saved
    for the same architecture and hyperparameters.

    With `subset`, the model may be a smaller variant (e.g. fewer residual units): every tensor it has is taken
    from the file (same name and shape), the file's other tensors are left out, hyperparameters may differ.
    """
    if not Path(path).is_file():
        raise ConfigError(f"model.init_from '{path}' is not a file. Give the path of a .safetensors of this "
                          "architecture (e.g. a card's weights), or remove model.init_from.")
    tensors, meta = load_safetensors(Path(path))
    if "step" in meta and any(k.startswith("model.") for k in tensors):  # a `zoo train` checkpoint (configs/resume)
        tensors = checkpoint_weights(tensors)
    saved_arch = meta.get("architecture", arch_id)
    if saved_arch != arch_id:
        raise ConfigError(f"model.init_from '{path}' holds weights of '{saved_arch}', but model.architecture is "
                          f"'{arch_id}'. Give weights of the same architecture.")
    saved_hp = json.loads(meta["hyperparameters"]) if "hyperparameters" in meta else {}
    if subset:
        own = model.state_dict()
        load_into(model, {k: v for k, v in tensors.items() if k in own}, path)  # names and shapes still checked
        return
    differ = sorted(k for k in saved_hp if k in hyperparameters and saved_hp[k] != hyperparameters[k])
    if differ:
        got = ", ".join(f"{k}={saved_hp[k]!r} (config {hyperparameters[k]!r})" for k in differ)
        raise ConfigError(f"model.init_from '{path}' was trained with other hyperparameters: {got}. "
                          "Set model.hyperparameters to the saved ones, or model.init_from_subset: true for a smaller "
                          "variant taking the tensors it shares.")
    load_into(model, tensors, path)


def checkpoint_weights(tensors: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint's weights as export ships them: its EMA where it keeps one, else the model's."""
    prefix = "ema." if any(k.startswith("ema.") for k in tensors) else "model."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
