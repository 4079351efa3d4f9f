"""Layers whose propagate() cannot be generated on any release."""

from typing import Any, Optional

from torch import Tensor
from torch_geometric.nn import MessagePassing


def make_local_type_layer() -> Any:
    """A type named in propagate_type that exists only inside this function."""
    LocalWeight = Optional[Tensor]

    class LocalTypeConv(MessagePassing):
        def forward(self, x: Tensor, edge_index: Tensor, weight: LocalWeight = None) -> Tensor:
            # propagate_type: (x: Tensor, weight: LocalWeight)
            return self.propagate(edge_index, x=x, weight=weight)

        def message(self, x_j: Tensor, weight: LocalWeight) -> Tensor:
            return x_j if weight is None else x_j * weight.view(-1, 1)

    return LocalTypeConv


class KeywordNamedArgument(MessagePassing):
    """Renders to a signature that is not valid Python: the template output fails to compile."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        # propagate_type: (x: Tensor, lambda: Tensor)
        return self.propagate(edge_index, x=x)

    def message(self, x_j: Tensor) -> Tensor:
        return x_j
