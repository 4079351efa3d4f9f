"""The shim never changes what a layer computes, on any release."""

from pathlib import Path

import torch

from tests.helpers import environment, run_python

EAGER_OUTPUTS = """
import torch
import torch_geometric
from torch_geometric.nn import (GATConv, GATv2Conv, GCNConv, GINConv, GraphConv,
                                SAGEConv, TransformerConv)
from tests.layers.tutorial import TutorialEdgeConv, TutorialGCN
builders = {
    "GCNConv": lambda: GCNConv(8, 4),
    "SAGEConv": lambda: SAGEConv(8, 4),
    "GINConv": lambda: GINConv(torch.nn.Linear(8, 4)),
    "GraphConv": lambda: GraphConv(8, 4),
    "GATConv": lambda: GATConv(8, 4, heads=2),
    "GATv2Conv": lambda: GATv2Conv(8, 4, heads=2),  # has an edge_updater
    "TransformerConv": lambda: TransformerConv(8, 4),
    "TutorialGCN": lambda: TutorialGCN(8, 4),
    "TutorialEdgeConv": lambda: TutorialEdgeConv(8, 4),
}
torch.manual_seed(0)
x = torch.randn(7, 8)
edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 0, 2], [1, 2, 3, 4, 5, 6, 0, 3, 5]])
outputs = {}
for name, build in builders.items():
    torch.manual_seed(1)
    layer = build().eval()
    outputs[name] = layer(x, edge_index).detach()
torch.save(outputs, OUT)
"""


def _outputs(tmp_path: Path, mode: str) -> dict:
    target = tmp_path / f"{mode}.pt"
    run_python(f"OUT = {str(target)!r}\n" + "import pyg_jit_shim\n" + EAGER_OUTPUTS,
               env=environment(PYG_JIT_SHIM=mode))
    return torch.load(target)


def test_eager_outputs_identical_with_and_without_the_shim(tmp_path: Path) -> None:
    with_shim, without = _outputs(tmp_path, "auto"), _outputs(tmp_path, "off")
    assert sorted(with_shim) == sorted(without)
    for name in with_shim:
        assert torch.equal(with_shim[name], without[name]), name
