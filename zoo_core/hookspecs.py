"""The hooks a zoo plugin may implement. Each receives a `register` callable, called by keyword."""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")

Register = Callable[[Any], None]


@hookspec
def register_commands(register: Register) -> None:
    """Register `zoo NAME` sub-commands: register(zoo.Command(name=..., help=..., run=..., arguments=...))."""


@hookspec
def register_architectures(register: Register) -> None:
    """Register model architectures: register(zoo.Architecture(...)), hyperparameters read from its builder."""


@hookspec
def register_degradations(register: Register) -> None:
    """Register HR→LR degradations: register(zoo.Degradation subclass instance or factory)."""


@hookspec
def register_losses(register: Register) -> None:
    """Register training losses: register(zoo.LossSpec(...))."""


@hookspec
def register_model_cards(register: Register) -> None:
    """Register model cards: register(path_to_yaml) or register(parsed_card_dict)."""


@hookspec
def register_weight_formats(register: Register) -> None:
    """Register weight converters: register(zoo.WeightFormat subclass instance)."""


@hookspec
def register_backends(register: Register) -> None:
    """Register inference engines: register(zoo.Backend subclass instance)."""


@hookspec
def register_engine_hints(register: Register) -> None:
    """Give an inference engine its own hints about an architecture: register(zoo.plugin.NcnnHints(...))."""


@hookspec
def register_recognizers(register: Register) -> None:
    """Declare state-dict layouts an architecture reads (`zoo import`): register(zoo.Recognizer(...))."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register training corpora for `zoo data prepare`: register(zoo_core.data.DatasetSpec(...))."""
