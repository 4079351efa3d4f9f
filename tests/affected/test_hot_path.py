"""The shim acts when a layer class is first built, never when a layer is called."""

import inspect
import os
import sys
import types
from typing import Any, Set

import pytest
import torch
import wrapt
from torch_geometric.nn import GATConv, GCNConv, GINConv, GraphConv, SAGEConv

import pyg_jit_shim
from tests.helpers import graph

LAYERS = {
    "GCNConv": lambda: GCNConv(8, 8),
    "SAGEConv": lambda: SAGEConv(8, 8),
    "GINConv": lambda: GINConv(torch.nn.Linear(8, 8)),
    "GraphConv": lambda: GraphConv(8, 8),
    "GATConv": lambda: GATConv(8, 8, heads=2),
}


class Typed(torch.nn.Module):
    """GATConv's forward is overloaded: scripted layers are called through this."""

    def __init__(self, conv: Any) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.conv(x, edge_index)


PACKAGE = os.path.dirname(os.path.abspath(pyg_jit_shim.__file__))


def _called_files(call: Any) -> Set[str]:
    files: Set[str] = set()

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call":
            files.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return files


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_hot_path_methods_are_plain_functions(name: str) -> None:
    layer = LAYERS[name]()
    cls = type(layer)
    for method in ("forward", "propagate", "message", "aggregate", "update"):
        found = inspect.getattr_static(cls, method)
        assert type(found) is types.FunctionType, method
        assert not isinstance(found, wrapt.ObjectProxy), method
        assert method not in vars(layer), method
    assert cls.propagate.__module__.endswith("_propagate")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_shim_code_is_not_on_the_stack_during_forward(name: str) -> None:
    layer = LAYERS[name]().eval()
    x, edge_index = graph()
    files = _called_files(lambda: layer(x, edge_index))
    assert not [f for f in files if f.startswith(PACKAGE)]
    # PyG's generated propagate() did run (built by the shim, from PyG's template).
    assert any(f.startswith("<pyg_jit_shim>/") for f in files)
    scripted = torch.jit.script(Typed(layer))
    assert not [f for f in _called_files(lambda: scripted(x, edge_index))
                if f.startswith(PACKAGE)]
