"""A layer that writes its own propagate(): PyG 2.5.3 keeps it, 2.5.0-2.5.2 replace it."""

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing


class OwnPropagate(MessagePassing):
    def __init__(self) -> None:
        super().__init__(aggr="add")

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x)

    def propagate(self, edge_index: Tensor, x: Tensor) -> Tensor:  # type: ignore[override]
        # Sums neighbours and doubles the result: a generated propagate() would not double.
        out = torch.zeros_like(x)
        out.index_add_(0, edge_index[1], x.index_select(0, edge_index[0]))
        return 2.0 * out

    def message(self, x_j: Tensor) -> Tensor:
        return x_j
