"""Generated modules live as long as their class; their names are their own."""

import gc
import linecache
import sys
import types
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


def _other_class() -> Any:
    class Other(MessagePassing):
        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

    return Other


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
    assert [ref for ref in alive if ref() is not None] == []  # the shim holds no class
    # Their modules go when the shim next generates one (no code of the shim
    # runs inside the collector): a class of another name here.
    _other_class()()
    assert _generated() == before


def test_no_code_of_the_shim_runs_when_a_class_is_freed() -> None:
    # Inside the garbage collector, Python drops a signal handler's exception
    # and may switch threads in the middle of ast.parse (CPython 3.11 then
    # fails PyG's inspector in another thread with a SystemError).
    cls = _factory_class()
    cls()
    # (A base class's list of subclasses holds weak references without one.)
    callbacks = [ref.__callback__ for ref in weakref.getweakrefs(cls)
                 if ref.__callback__ is not None]
    assert callbacks  # the shim's
    assert [c for c in callbacks if not isinstance(c, types.BuiltinFunctionType)] == []
    assert [c for c in gc.callbacks if "pyg_jit_shim" in getattr(c, "__module__", "")] == []


def test_a_live_class_keeps_its_module_and_scripts_after_others_died() -> None:
    x, edge_index = graph(channels=4)
    kept = _factory_class()
    layer = kept()
    # The same class statement again and again: the same generated source,
    # one shared module, held while any of its classes lives.
    for _ in range(20):
        again = _factory_class()
        again()
        assert again.propagate is kept.propagate
    del again
    gc.collect()
    assert kept.propagate.__module__ in sys.modules
    assert scripted_matches(layer, x, edge_index) == 0.0
    assert len(_generated()[0]) == 1


NOTEBOOK = r"""
import pyg_jit_shim
import json, torch
from torch import Tensor
from torch_geometric.nn import MessagePassing

x = torch.randn(5, 2)
edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
w = torch.rand(4)
src, dst = edge_index

# A cell, run; then edited and run again; then run once more unchanged.
class Conv(MessagePassing):
    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x)

first = Conv()
versions = []
for _ in range(2):
    class Conv(MessagePassing):
        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

        def message(self, x_i: Tensor, x_j: Tensor) -> Tensor:
            return x_j - x_i

    versions.append(Conv())

# A later cell: a class whose name is the first one's plus "_2".
class Conv_2(MessagePassing):
    def forward(self, x: Tensor, edge_index: Tensor, w: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x, w=w)

    def message(self, x_j: Tensor, w: Tensor) -> Tensor:
        return x_j * w.view(-1, 1)

def close(a, b):
    return bool(torch.allclose(a, b))

summed = torch.zeros_like(x).index_add_(0, dst, x[src])
differences = torch.zeros_like(x).index_add_(0, dst, x[src] - x[dst])
weighted = torch.zeros_like(x).index_add_(0, dst, x[src] * w.view(-1, 1))
layer = Conv_2()
conv = torch.jit.script(versions[1])
torch.jit.save(conv, "conv.pt")
loaded = torch.jit.load("conv.pt")
print(json.dumps([
    [close(first(x, edge_index), summed), close(torch.jit.script(first)(x, edge_index), summed)],
    [close(versions[1](x, edge_index), differences), close(conv(x, edge_index), differences),
     close(loaded(x, edge_index), differences)],
    [close(layer(x, edge_index, w), weighted),
     close(torch.jit.script(layer)(x, edge_index, w), weighted)],
    [type(v).propagate.__module__ for v in [first, *versions, layer]],
]))
"""


def test_redefined_class_beside_a_class_named_like_its_module(tmp_path: Path) -> None:
    # From a file: TorchScript reads the classes' source (a notebook keeps its
    # cells in linecache likewise).
    first, edited, named_alike, modules = last_json(run_script(NOTEBOOK, tmp_path))
    assert first == [True, True]
    assert edited == [True, True, True]
    assert named_alike == [True, True]
    original, edited_module, rerun, conv_2 = modules
    assert original == "__main___Conv_propagate"
    # The edited cell has other source: a module of its own, whose name no
    # other class's prefix can start ("." is not in a class name).
    assert edited_module == "__main___Conv.v2_propagate"
    assert rerun == edited_module  # run again unchanged: the same source, shared
    assert conv_2 == "__main___Conv_2_propagate"


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
