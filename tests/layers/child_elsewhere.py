"""Subclasses of a layer from another module, without that module's type imports."""

from typing import Optional

from torch import Tensor

from tests.layers.parent_types import WeightedBase


class ScaledChild(WeightedBase):
    def message(self, x_j: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
        return 3.0 * x_j if edge_weight is None else 3.0 * x_j * edge_weight.view(-1, 1)


class ScaledGrandChild(ScaledChild):
    pass
