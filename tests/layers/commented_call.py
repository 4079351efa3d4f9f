"""A call to self.propagate in a comment and a docstring ahead of the real one."""

from torch import Tensor
from torch_geometric.nn import MessagePassing


class CommentedCall(MessagePassing):
    """Calls ``self.propagate(edge_index, h=x, scale=s)`` in an old version."""

    def __init__(self) -> None:
        super().__init__(aggr="mean")

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        # previously: out = self.propagate(edge_index, h=x, scale=s)
        return self.propagate(edge_index, x=x)

    def message(self, x_j: Tensor) -> Tensor:
        return x_j - 1.0
