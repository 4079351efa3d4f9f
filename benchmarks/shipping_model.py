"""The model that ``shipping.py`` ships: a service's own module, importable by
both the process that saves it and the one that loads it, as pickles need.

GCNConv, GATConv (overloaded ``forward``), a layer of the service's own, and
the same three inside a ``torch_geometric.nn.Sequential``.
"""

from typing import Tuple

import torch
from torch import Tensor
from torch.nn import Linear, ReLU
from torch_geometric.nn import GATConv, GCNConv, MessagePassing, Sequential

IN_CHANNELS, HIDDEN, OUT_CHANNELS = 8, 16, 3


class GatedMean(MessagePassing):
    """Mean of neighbours, each weighted by a gate on both endpoints."""

    def __init__(self, channels: int) -> None:
        super().__init__(aggr="mean")
        self.gate = Linear(2 * channels, 1)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x)

    def message(self, x_i: Tensor, x_j: Tensor) -> Tensor:
        return torch.sigmoid(self.gate(torch.cat([x_i, x_j], dim=-1))) * x_j


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gcn = GCNConv(IN_CHANNELS, HIDDEN)
        self.gat = GATConv(HIDDEN, HIDDEN // 2, heads=2)
        self.gated = GatedMean(HIDDEN)
        self.head = Linear(HIDDEN, OUT_CHANNELS)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = self.gcn(x, edge_index).relu()
        x = self.gat(x, edge_index).relu()
        return self.head(self.gated(x, edge_index))


class SequentialNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = Sequential("x, edge_index", [
            (GCNConv(IN_CHANNELS, HIDDEN), "x, edge_index -> x"),
            ReLU(),
            (GATConv(HIDDEN, HIDDEN // 2, heads=2), "x, edge_index -> x"),
            ReLU(),
            (GatedMean(HIDDEN), "x, edge_index -> x"),
        ])
        self.head = Linear(HIDDEN, OUT_CHANNELS)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.head(self.body(x, edge_index))


def inputs() -> Tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(10, IN_CHANNELS, generator=generator)
    nodes = torch.arange(10)
    edge_index = torch.stack([torch.cat([nodes, nodes]),
                              torch.cat([(nodes + 1) % 10, (nodes + 3) % 10])])
    return x, edge_index
