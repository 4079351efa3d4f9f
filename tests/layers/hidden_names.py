"""Types named in a propagate_type comment that ``from module import *`` does not export."""

from typing import Optional

from torch import Tensor
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import OptTensor

__all__ = ["ExportedOnly", "PrivateAlias"]

_MaybeWeight = Optional[Tensor]


class PrivateAlias(MessagePassing):
    """A private module-level alias: "import *" skips names with a leading underscore."""

    def forward(self, x: Tensor, edge_index: Tensor, weight: _MaybeWeight = None) -> Tensor:
        # propagate_type: (x: Tensor, weight: _MaybeWeight)
        return self.propagate(edge_index, x=x, weight=weight)

    def message(self, x_j: Tensor, weight: _MaybeWeight) -> Tensor:
        return x_j if weight is None else x_j * weight.view(-1, 1)


class ExportedOnly(MessagePassing):
    """OptTensor is imported here but left out of __all__."""

    def forward(self, x: Tensor, edge_index: Tensor, weight: OptTensor = None) -> Tensor:
        # propagate_type: (x: Tensor, weight: OptTensor)
        return self.propagate(edge_index, x=x, weight=weight)

    def message(self, x_j: Tensor, weight: OptTensor) -> Tensor:
        return x_j if weight is None else x_j * weight.view(-1, 1)
