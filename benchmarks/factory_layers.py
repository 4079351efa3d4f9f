"""The layer class that ``worker.py factory`` makes again and again.

A module of its own, imported by the worker only for that measurement: PyG
evaluates the annotations of ``message`` in the module of the class, so
``Tensor`` must be a real global here, and the worker itself imports nothing
heavy at the top.
"""

from typing import Any, Dict

from torch import Tensor
from torch_geometric.nn import MessagePassing

# The factory's class name: its generated modules are found in sys.modules by it.
STEM = "BenchFactoryLayer"


def make_class(scale: float, name: str = STEM) -> Any:
    """A new class on every call, as a function that builds layers per trial does."""

    class BenchFactoryLayer(MessagePassing):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(aggr="add")

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            # propagate_type: (x: Tensor)
            return self.propagate(edge_index, x=x)

        def message(self, x_j: Tensor) -> Tensor:
            return x_j * scale

    # PyG names the generated module after __name__; __qualname__ stays, so that
    # inspect still finds the source.
    BenchFactoryLayer.__name__ = name
    return BenchFactoryLayer


def make_and_run(count: int, name: str, x: Tensor, edge_index: Tensor,
                 expected: Tensor) -> Dict[str, int]:
    """Makes ``count`` classes, one instance and one forward each, and keeps none."""
    import torch

    generated = wrong = 0
    for index in range(count):
        scale = 1.0 + index % 7
        layer = make_class(scale, name)()
        # The class's own propagate, not MessagePassing's: generation succeeded.
        generated += type(layer).propagate is not MessagePassing.propagate
        wrong += not torch.allclose(layer(x, edge_index), expected * scale)
    return {"generated": generated, "wrong": wrong}
