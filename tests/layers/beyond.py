"""Layers that fail on every 2.5.x, 2.5.3 included, and work on PyG 2.6.

Written the way PyG's tutorial and user code write them: edge_index passed to
``propagate()`` by keyword after another argument (#9245), and untyped
optional edge arguments (#9494). The last two classes work on 2.5.3 already
and must stay as they are.
"""

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing


class KeywordFirst(MessagePassing):
    """The call of PyG's own test for #9245."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(x=x, edge_index=edge_index)


class KeywordsReordered(MessagePassing):
    """Every argument by keyword, edge_index among them and size last."""

    def __init__(self) -> None:
        super().__init__(aggr="mean")

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        return self.propagate(x=x, weight=edge_weight, edge_index=edge_index, size=None)

    def message(self, x_j: Tensor, weight: Tensor) -> Tensor:
        return weight.view(-1, 1) * x_j


class OptionalEdgeAttr(MessagePassing):
    """The layer of PyG's own test for #9494: nothing typed."""

    def __init__(self):
        super().__init__()

    def forward(self, x, edge_index, edge_attr=None):
        return self.propagate(edge_index, x=x, edge_attr=edge_attr)

    def message(self, x_j, edge_attr=None):
        return x_j if edge_attr is None else x_j * edge_attr.view(-1, 1)


class OptionalEdgeWeight(MessagePassing):
    def __init__(self):
        super().__init__(aggr="max")

    def forward(self, x, edge_index, edge_weight=None):
        return self.propagate(edge_index, x=x, edge_weight=edge_weight)

    def message(self, x_i, x_j, edge_weight=None):
        out = x_j - x_i
        return out if edge_weight is None else out * edge_weight.view(-1, 1)


class OptionalEdgeType(MessagePassing):
    def __init__(self, channels=8, num_types=3):
        super().__init__()
        self.scale = torch.nn.Embedding(num_types, channels)

    def forward(self, x, edge_index, edge_type=None):
        return self.propagate(edge_index, x=x, edge_type=edge_type)

    def message(self, x_j, edge_type=None):
        return x_j if edge_type is None else x_j * self.scale(edge_type)


class OptionalEdgeAttrUpdate(MessagePassing):
    """The same through edge_updater(), whose collect comes from the same template."""

    def __init__(self):
        super().__init__()

    def forward(self, x, edge_index, edge_attr=None):
        gate = self.edge_updater(edge_index, x=x, edge_attr=edge_attr)
        return self.propagate(edge_index, x=x, gate=gate)

    def edge_update(self, x_i, x_j, edge_attr=None):
        gate = (x_i * x_j).sum(dim=-1)
        return gate if edge_attr is None else gate + edge_attr

    def message(self, x_j, gate):
        return torch.sigmoid(gate).view(-1, 1) * x_j


class KeywordsInOrder(MessagePassing):
    """edge_index by keyword, first: works on 2.5.3."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index=edge_index, x=x)


class ComparisonInCall(MessagePassing):
    """A positional edge_index expression that contains '=': works on 2.5.3
    (PyG 2.6 takes it for a keyword argument and no longer scripts it)."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index[:, edge_index[0] != edge_index[1]], x=x)
