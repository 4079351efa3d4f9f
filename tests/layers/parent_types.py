"""A base layer whose types are imported here, and nowhere in its subclasses' modules."""

from torch import Tensor
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import OptPairTensor, OptTensor


class WeightedBase(MessagePassing):
    def __init__(self) -> None:
        super().__init__(aggr="add")

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: OptTensor = None) -> Tensor:
        pair: OptPairTensor = (x, x)
        # propagate_type: (x: OptPairTensor, edge_weight: OptTensor)
        return self.propagate(edge_index, x=pair, edge_weight=edge_weight)

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return x_j if edge_weight is None else x_j * edge_weight.view(-1, 1)
