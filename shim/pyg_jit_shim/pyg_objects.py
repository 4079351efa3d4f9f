"""The PyG objects the patches change, looked up once PyG is imported."""

import importlib
import inspect
import os
from types import ModuleType
from typing import Any, NamedTuple, Tuple

from .pyg_names import INSPECTOR, MESSAGE_PASSING, SEQUENTIAL, TEMPLATE


class PyG(NamedTuple):
    template: ModuleType
    message_passing: ModuleType
    sequential: ModuleType
    inspector: ModuleType
    MessagePassing: Any
    Inspector: Any
    Module: Any  # torch.nn.Module

    @property
    def roots(self) -> Tuple[type, ...]:
        """The bases at which a layer's own lineage of classes ends."""
        return (object, self.Module, self.MessagePassing)


def load() -> PyG:
    """Imports the modules; called after ``torch_geometric`` itself is imported."""
    message_passing = importlib.import_module(MESSAGE_PASSING)
    inspector = importlib.import_module(INSPECTOR)
    import torch

    return PyG(
        template=importlib.import_module(TEMPLATE),
        message_passing=message_passing,
        sequential=importlib.import_module(SEQUENTIAL),
        inspector=inspector,
        MessagePassing=getattr(message_passing, "MessagePassing", None),
        Inspector=getattr(inspector, "Inspector", None),
        Module=torch.nn.Module,
    )


def directory_of(module: ModuleType) -> str:
    """Where a PyG module's templates lie beside it."""
    return os.path.dirname(os.path.realpath(module.__file__ or ""))


def parameter_names(function: Any) -> Tuple[str, ...]:
    """The parameter names of ``function``; empty if it is not a function."""
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()
