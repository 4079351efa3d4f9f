"""A service's own model, as ``check --model`` meets it: built-in and custom
layers, optionally a ``Sequential``; one that does not script, and one that
scripts but computes something else than eager.

The tests copy this file into a working directory of their own and name it
``service_model:build`` there, as a user names a module beside them.
"""

import torch
from torch import Tensor
from torch_geometric.nn import GCNConv, MessagePassing, Sequential


class Doubled(MessagePassing):
    """A custom layer, typed as TorchScript needs."""

    def __init__(self, channels: int) -> None:
        super().__init__(aggr="mean")
        self.lin = torch.nn.Linear(channels, channels)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=self.lin(x))

    def message(self, x_j: Tensor) -> Tensor:
        return 2 * x_j


class Unscriptable(MessagePassing):
    """Eagerly fine; TorchScript rejects the helper's ``*rest``."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=self.helper(x))

    def helper(self, x: Tensor, *rest: Tensor) -> Tensor:
        return x

    def message(self, x_j: Tensor) -> Tensor:
        return x_j


class Diverging(MessagePassing):
    """Computes something else once scripted, as code that branches on
    ``torch.jit.is_scripting()`` can."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        out = self.propagate(edge_index, x=x)
        if torch.jit.is_scripting():
            out = out + 1.0
        return out

    def message(self, x_j: Tensor) -> Tensor:
        return x_j


class Net(torch.nn.Module):
    def __init__(self, tail: torch.nn.Module) -> None:
        super().__init__()
        self.conv = GCNConv(8, 8)
        self.custom = Doubled(8)
        self.tail = tail

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = self.conv(x, edge_index).relu()
        return self.tail(self.custom(x, edge_index), edge_index)


class UntypedDefault(torch.nn.Module):
    """``scale=None`` without a type: TorchScript takes it for a Tensor whose
    default is an undefined Tensor, which torch.jit.save cannot write."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = GCNConv(8, 8)

    def forward(self, x: Tensor, edge_index: Tensor, scale=None) -> Tensor:  # type: ignore
        x = self.conv(x, edge_index)
        return x if scale is None else x * scale


class Last(torch.nn.Module):
    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return x


def build() -> Net:
    torch.manual_seed(0)
    return Net(Last())


def build_with_sequential() -> Net:
    torch.manual_seed(0)
    return Net(Sequential("x, edge_index", [
        (GCNConv(8, 8), "x, edge_index -> x"),
        torch.nn.ReLU(),
    ]))


def build_unscriptable() -> Net:
    torch.manual_seed(0)
    return Net(Unscriptable())


def build_diverging() -> Net:
    torch.manual_seed(0)
    return Net(Diverging())


def build_unsavable() -> UntypedDefault:
    torch.manual_seed(0)
    return UntypedDefault()


NOT_CALLABLE = 3


def save_inputs(path: str) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 8, generator=generator)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 0, 3]])
    torch.save((x, edge_index), path)
