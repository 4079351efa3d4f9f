"""Layers that many threads build at the same moment (tests/affected/test_concurrency.py).

The test loads this file under a new module name for every round, so each
round brings brand-new classes whose propagate()/edge_updater() were never
generated: PyG names a generated module ``<module>_<Class>_propagate``.
"""

import torch
from torch import Tensor
from torch.nn import Linear
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import OptTensor


class RaceSum(MessagePassing):
    def __init__(self, channels: int = 8) -> None:
        super().__init__(aggr="add")
        self.lin = Linear(channels, channels)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=self.lin(x))

    def message(self, x_j: Tensor) -> Tensor:
        return x_j


class RaceWeighted(MessagePassing):
    def __init__(self, channels: int = 8) -> None:
        super().__init__(aggr="mean")
        self.weight = Linear(channels, 1)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        edge_weight: OptTensor = torch.sigmoid(self.weight(x)).view(-1)[edge_index[0]]
        # propagate_type: (x: Tensor, edge_weight: OptTensor)
        return self.propagate(edge_index, x=x, edge_weight=edge_weight)

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return x_j if edge_weight is None else x_j * edge_weight.view(-1, 1)


class RaceWeightedChild(RaceWeighted):
    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return -x_j if edge_weight is None else -x_j * edge_weight.view(-1, 1)


class RaceAttention(MessagePassing):
    """Has an edge_update(): its edge_updater() is generated too."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__(aggr="add")
        self.att = Linear(2 * channels, 1)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        alpha = self.edge_updater(edge_index, x=x)
        return self.propagate(edge_index, x=x, alpha=alpha)

    def edge_update(self, x_i: Tensor, x_j: Tensor) -> Tensor:
        return torch.sigmoid(self.att(torch.cat([x_i, x_j], dim=-1)))

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        return alpha * x_j


CLASSES = (RaceSum, RaceWeighted, RaceWeightedChild, RaceAttention)
