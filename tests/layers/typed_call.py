"""A typed caller for layers whose forward() is overloaded (GATConv, GATv2Conv,
TransformerConv): TorchScript compiles those as forward__0..N, so they are
scripted inside a module with one signature, as PyG's own tests do."""

import torch
from torch import Tensor


class TypedCall(torch.nn.Module):
    def __init__(self, conv: torch.nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.conv(x, edge_index)
