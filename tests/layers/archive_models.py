"""Models as services ship them in TorchScript archives (GCNConv + SAGEConv, and a
Sequential inside a module of the service's own)."""

import torch
from torch import Tensor
from torch_geometric.nn import GCNConv, SAGEConv, Sequential


class TwoLayers(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = GCNConv(8, 16)
        self.conv2 = SAGEConv(16, 4)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


class WithSequential(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = Sequential("x, edge_index", [
            (GCNConv(8, 8), "x, edge_index -> x"), torch.nn.ReLU(),
            (SAGEConv(8, 4), "x, edge_index -> x")])
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.head(self.body(x, edge_index))
