"""Generated modules live as long as their class; their names are their own."""

import gc
import linecache
import sys
import weakref
from pathlib import Path
from typing import Any, List, Tuple

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing

from tests.helpers import graph, last_json, run_python, run_script, scripted_matches


def _factory_class() -> Any:
    # Defined in a function, as hyper-parameter searches and notebooks do:
    # every call makes a new class with the same name.
    class Searched(MessagePassing):
        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

    return Searched


def _generated() -> Tuple[List[str], List[str]]:
    stem = f"{__name__}_Searched"
    return ([name for name in sys.modules if name.startswith(stem)],
            [name for name in linecache.cache if stem in name])


def test_classes_made_and_dropped_leave_nothing_behind() -> None:
    x, edge_index = graph(channels=4)
    expected = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
    gc.collect()
    before = _generated()
    alive = []
    for _ in range(200):
        cls = _factory_class()
        assert torch.allclose(cls()(x, edge_index), expected)
        alive.append(weakref.ref(cls))
    del cls
    gc.collect()
    gc.collect()
    assert [ref for ref in alive if ref() is not None] == []  # the shim holds no class
    assert _generated() == before


def test_a_live_class_keeps_its_module_and_scripts_after_others_died() -> None:
    x, edge_index = graph(channels=4)
    kept = _factory_class()
    layer = kept()
    for _ in range(20):
        _factory_class()()
    gc.collect()
    assert kept.propagate.__module__ in sys.modules
    assert scripted_matches(layer, x, edge_index) == 0.0
    # A class made after the others died may take a freed name; it never
    # shares the live class's module.
    again = _factory_class()
    again()
    assert again.propagate.__module__ != kept.propagate.__module__
    assert scripted_matches(again(), x, edge_index) == 0.0


NOTEBOOK = r"""
import pyg_jit_shim
import json, torch
from torch import Tensor
from torch_geometric.nn import MessagePassing

x = torch.randn(5, 2)
edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
w = torch.rand(4)

# One notebook cell, run twice: the second Conv replaces the first.
for _ in range(2):
    class Conv(MessagePassing):
        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

    first = Conv()

# A later cell: a class whose name is the first one's plus "_2".
class Conv_2(MessagePassing):
    def forward(self, x: Tensor, edge_index: Tensor, w: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x, w=w)

    def message(self, x_j: Tensor, w: Tensor) -> Tensor:
        return x_j * w.view(-1, 1)

expected = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]] * w.view(-1, 1))
layer = Conv_2()
eager = layer(x, edge_index, w)
scripted = torch.jit.script(layer)(x, edge_index, w)
conv = torch.jit.script(Conv())
torch.jit.save(conv, "conv.pt")
loaded = torch.jit.load("conv.pt")
plain = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
print(json.dumps([bool(torch.allclose(eager, expected)), bool(torch.allclose(scripted, expected)),
                  bool(torch.allclose(loaded(x, edge_index), plain)),
                  Conv.propagate.__module__, Conv_2.propagate.__module__]))
"""


def test_redefined_class_beside_a_class_named_like_its_module(tmp_path: Path) -> None:
    # From a file: TorchScript reads the classes' source (a notebook keeps its
    # cells in linecache likewise).
    eager, scripted, loaded, conv_module, conv_2_module = last_json(
        run_script(NOTEBOOK, tmp_path))
    assert (eager, scripted, loaded) == (True, True, True)
    assert conv_module != "__main___Conv_propagate"  # the first Conv still holds that one
    assert not conv_module.startswith("__main___Conv_2")
    assert conv_2_module == "__main___Conv_2_propagate"


def test_classes_the_shim_built_are_not_reported_after_unpatch_and_patch() -> None:
    result = run_python("""
        import pyg_jit_shim
        from torch_geometric.nn import GCNConv
        GCNConv(4, 4)
        pyg_jit_shim.unpatch()
        pyg_jit_shim.patch()
        GCNConv(4, 4)
        print(pyg_jit_shim.status().verdict)
    """)
    assert result.stdout.split() == ["patched"]
    assert "built before" not in result.stderr
