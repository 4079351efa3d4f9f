"""PyG 2.6.1's own tests for the generator fixes the shim backports, rewritten.

Each test follows the steps of one test in PyG 2.6.1's
``test/nn/conv/test_message_passing.py`` (named in its docstring) and checks
values besides: with the shim, 2.5.0-2.5.2 pass what 2.6.1 passes.
"""

from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing

from tests.helpers import last_json, run_script

# Upstream's test_pickle (#9368), in a fresh interpreter: it puts the classes'
# methods back to MessagePassing's, which would leak into other tests here.
PICKLE = """
import json
import torch
from torch import Tensor
import pyg_jit_shim
from torch_geometric.nn import GATConv, GATv2Conv
from tests.layers.custom_propagate import OwnPropagate


class Typed(torch.nn.Module):
    # GATConv's forward is overloaded: scripted, it is called through a typed module.
    def __init__(self, conv: torch.nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.conv(x, edge_index)


torch.manual_seed(0)
x = torch.randn(5, 16)
edge_index = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 2]])
report = {"verdict": pyg_jit_shim.status().verdict}
for cls, layer in ((GATConv, GATConv(16, 32)), (GATv2Conv, GATv2Conv(16, 8, heads=2)),
                   (OwnPropagate, OwnPropagate())):
    name = cls.__name__
    layer.eval()
    with torch.no_grad():
        expected = layer(x, edge_index)
    torch.save(layer, name + ".pt")
    kinds = [kind for kind in ("propagate", "edge_updater") if "_orig_" + kind in vars(cls)]
    built = {kind: getattr(cls, kind) for kind in kinds}
    for kind in kinds:
        setattr(cls, kind, getattr(cls, "_orig_" + kind))
    reset = {kind: getattr(cls, kind) is built[kind] for kind in kinds}

    restored = torch.load(name + ".pt", weights_only=False)
    torch.jit.script(restored)
    scripted = torch.jit.script(Typed(restored))
    with torch.no_grad():
        diff = float((scripted(x, edge_index) - expected).abs().max())
    # The very functions construction generated: nothing was built anew.
    same = {kind: getattr(cls, kind) is built[kind] for kind in kinds}
    report[name] = {"kinds": kinds, "unchanged_by_reset": reset, "same": same,
                    "module": cls.propagate.__module__, "diff": diff}
print(json.dumps(report))
"""


def test_pickle(tmp_path: Path) -> None:
    """Mirrors ``test_pickle`` (#9368): build GATConv, ``torch.save`` it, put
    ``propagate`` and ``edge_updater`` back to ``_orig_propagate`` and
    ``_orig_edge_updater``, ``torch.load``, ``torch.jit.script``.

    Also with GATv2Conv, the other 2.5 layer with an ``edge_updater``, and with
    a layer that writes its own ``propagate()``, which keeps it."""
    report = last_json(run_script(PICKLE, tmp_path))
    assert report.pop("verdict") == "patched"
    both = ["propagate", "edge_updater"]
    for name in ("GATConv", "GATv2Conv"):
        case = report[name]
        assert case["kinds"] == both, name
        # The reset did put MessagePassing's **kwargs methods back ...
        assert case["unchanged_by_reset"] == {kind: False for kind in both}, name
        # ... and the restore gave the class its generated ones again.
        assert case["same"] == {kind: True for kind in both}, name
        assert case["module"].endswith(f"_{name}_propagate"), name
        assert case["diff"] <= 1e-5, name
    own = report["OwnPropagate"]
    assert own["kinds"] == ["propagate"]
    # Its _orig_propagate is its own propagate(): the reset changes nothing, and
    # the restored layer keeps it (it doubles the sum, which is what is compared).
    assert own["unchanged_by_reset"] == {"propagate": True}
    assert own["same"] == {"propagate": True}
    assert own["module"] == "tests.layers.custom_propagate"
    assert own["diff"] <= 1e-6


class KeywordsConv(MessagePassing):
    """``edge_index`` passed after ``x``, both by keyword."""

    def __init__(self) -> None:
        super().__init__(aggr="max")

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(x=x, edge_index=edge_index)


def test_my_kwargs_conv() -> None:
    """Mirrors ``test_my_kwargs_conv`` (#9245): a layer that calls
    ``self.propagate(x=x, edge_index=edge_index)`` runs eagerly and scripted."""
    x = torch.tensor([[1.0, -1.0], [2.0, 0.5], [-3.0, 4.0], [0.0, 0.0]])
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    # Node 0 takes the largest of nodes 0 and 1, node 1 of nodes 2 and 3.
    expected = torch.tensor([[2.0, 0.5], [0.0, 4.0], [0.0, 0.0], [0.0, 0.0]])

    conv = KeywordsConv()
    assert torch.equal(conv(x, edge_index), expected)
    assert torch.equal(torch.jit.script(conv)(x, edge_index), expected)


class UntypedOptionalEdgeAttr(MessagePassing):
    """Nothing typed; ``edge_attr`` may be left out."""

    def __init__(self):
        super().__init__(aggr="add")

    def forward(self, x, edge_index, edge_attr=None):
        return self.propagate(edge_index, x=x, edge_attr=edge_attr)

    def message(self, x_j, edge_attr=None):
        if edge_attr is None:
            return x_j
        return edge_attr.view(-1, 1) * x_j


def test_my_optional_edge_attr_conv() -> None:
    """Mirrors ``test_my_optional_edge_attr_conv`` (#9494): an untyped
    ``edge_attr=None`` left out works eagerly (2.5.x: AssertionError)."""
    x = torch.arange(8.0).view(4, 2)
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    conv = UntypedOptionalEdgeAttr()

    out = conv(x, edge_index)
    assert out.size() == (4, 2)
    assert torch.equal(out, torch.tensor([[2.0, 4.0], [10.0, 12.0], [0.0, 0.0], [0.0, 0.0]]))
    weights = torch.tensor([0.5, 2.0, 1.0, 0.0])
    weighted = conv(x, edge_index, weights)
    assert torch.equal(weighted, torch.tensor([[4.0, 6.5], [4.0, 5.0], [0.0, 0.0], [0.0, 0.0]]))
