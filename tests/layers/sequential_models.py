"""Models built from ``torch_geometric.nn.Sequential``, as services ship them.

A process that loads a pickle of these imports this module for the user's own
classes and functions only (``Net``, ``pair``); it never calls the builders
unless a test says so.
"""

from collections import OrderedDict
from typing import List, Tuple

import torch
from torch import Tensor
from torch.nn import Dropout, Linear, ReLU, Tanh
from torch_geometric.nn import (
    GCNConv,
    JumpingKnowledge,
    Sequential,
    global_mean_pool,
)


def encoder(in_channels: int) -> torch.nn.Module:
    return Sequential("x, edge_index", [
        (GCNConv(in_channels, 16), "x, edge_index -> x"),
        ReLU(inplace=True),
        (GCNConv(16, 16), "x, edge_index -> x"),
    ])


def readout(out_channels: int) -> torch.nn.Module:
    # A Sequential inside a Sequential, typed inputs, an explicit return type.
    inner = Sequential("x: Tensor", [(Linear(16, 16), "x -> x"), Tanh()])
    return Sequential("x: Tensor, edge_index: Tensor -> Tensor", [
        (inner, "x -> h"),
        (GCNConv(16, out_channels), "h, edge_index -> out"),
    ])


class Net(torch.nn.Module):
    """A user's module holding two Sequential models, one of them nested."""

    def __init__(self, in_channels: int = 8, out_channels: int = 4) -> None:
        super().__init__()
        self.encoder = encoder(in_channels)
        self.readout = readout(out_channels)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.readout(self.encoder(x, edge_index), edge_index)


def note_call(model: torch.nn.Module, module: torch.nn.Module, inputs: object,
              output: object) -> None:
    """A forward hook that holds the model its layer belongs to."""
    model.calls.append(type(module).__name__)  # type: ignore[union-attr,operator]


# The models of PyG 2.6.1's test/nn/test_sequential.py, where upstream checks
# Sequential after #9369. Its lambdas are named functions here: a pickle
# refers to a function by its module and name, and a lambda has none.
def pair(x1: Tensor, x2: Tensor) -> List[Tensor]:
    return [x1, x2]


def both(x1: Tensor, x2: Tensor) -> Tuple[Tensor, Tensor]:
    return x1, x2


def upstream_basic() -> torch.nn.Module:
    return Sequential("x, edge_index", [
        (GCNConv(16, 64), "x, edge_index -> x"),
        ReLU(inplace=True),
        (GCNConv(64, 64), "x, edge_index -> x"),
        ReLU(inplace=True),
        Linear(64, 7),
    ])


def upstream_tracable() -> torch.nn.Module:
    return Sequential("x, edge_index", [
        (GCNConv(16, 64), "x, edge_index -> x1"),
        ReLU(inplace=True),
        (GCNConv(64, 64), "x1, edge_index -> x2"),
        ReLU(inplace=True),
        (add, "x1, x2 -> x"),
        Linear(64, 7),
    ])


def add(x1: Tensor, x2: Tensor) -> Tensor:
    return x1 + x2


def upstream_jumping_knowledge() -> torch.nn.Module:
    return Sequential("x, edge_index, batch", [
        (Dropout(p=0.5), "x -> x"),
        (GCNConv(16, 64), "x, edge_index -> x1"),
        ReLU(inplace=True),
        (GCNConv(64, 64), "x1, edge_index -> x2"),
        ReLU(inplace=True),
        (pair, "x1, x2 -> xs"),
        (JumpingKnowledge("cat", 64, num_layers=2), "xs -> x"),
        (global_mean_pool, "x, batch -> x"),
        Linear(2 * 64, 7),
    ])


def upstream_typed() -> torch.nn.Module:
    return Sequential("x: Tensor, edge_index: Tensor", [
        (GCNConv(16, 64), "x, edge_index -> x"),
        ReLU(inplace=True),
        (GCNConv(64, 64), "x, edge_index -> x"),
        ReLU(inplace=True),
        Linear(64, 7),
    ])


def upstream_multiple_returns() -> torch.nn.Module:
    return Sequential("x, edge_index", [
        (GCNConv(16, 32), "x, edge_index -> x1"),
        (GCNConv(32, 64), "x1, edge_index -> x2"),
        (both, "x1, x2 -> x1, x2"),
    ])


def upstream_ordered_dict() -> torch.nn.Module:
    return Sequential("x, edge_index", modules=OrderedDict([
        ("conv1", (GCNConv(16, 32), "x, edge_index -> x")),
        ("conv2", (GCNConv(32, 64), "x, edge_index -> x")),
    ]))

