"""Layers as users write them: they script, match eager, and compute what 2.5.3 computes."""

import inspect
import sys
from typing import Any

import pytest
import torch

from tests.helpers import graph, scripted_matches
from tests.layers import child_elsewhere, commented_call, custom_propagate, hidden_names, tutorial

LAYERS = {
    "tutorial GCN": lambda: tutorial.TutorialGCN(8, 4),
    "tutorial EdgeConv": lambda: tutorial.TutorialEdgeConv(8, 4),
    # 2.5.0: NameError at construction; 2.5.2: no imports in the generated module.
    "subclass from another module": child_elsewhere.ScaledChild,
    "grandchild from another module": child_elsewhere.ScaledGrandChild,
    # 2.5.0 parses the commented-out call and builds the wrong signature.
    "call in a comment": commented_call.CommentedCall,
    # Fail on 2.5.3 too: "import *" does not export these names.
    "private type alias": hidden_names.PrivateAlias,
    "name outside __all__": hidden_names.ExportedOnly,
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_scripts_and_matches_eager(name: str) -> None:
    torch.manual_seed(0)
    layer = LAYERS[name]()
    assert scripted_matches(layer, *graph()) <= 1e-6


def test_subclass_uses_its_own_message() -> None:
    x, edge_index = graph()
    parent, child = child_elsewhere.WeightedBase(), child_elsewhere.ScaledChild()
    assert torch.allclose(child(x, edge_index), 3.0 * parent(x, edge_index), atol=1e-6)


def test_call_in_comment_is_ignored() -> None:
    layer = commented_call.CommentedCall()
    x, edge_index = graph()
    # mean over the two in-neighbours of x_j - 1
    expected = torch.zeros_like(x)
    expected.index_add_(0, edge_index[1], x[edge_index[0]] - 1.0)
    assert torch.allclose(layer(x, edge_index), expected / 2, atol=1e-6)


def _neighbour_sum(x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    out.index_add_(0, edge_index[1], x[edge_index[0]])
    return out


def test_own_propagate_is_kept() -> None:
    layer = custom_propagate.OwnPropagate()
    x, edge_index = graph()
    # The class doubles the sum; a generated propagate() would not.
    assert torch.allclose(layer(x, edge_index), 2.0 * _neighbour_sum(x, edge_index), atol=1e-6)
    assert vars(custom_propagate.OwnPropagate)["propagate"].__module__ == custom_propagate.__name__
    assert "collect" not in vars(custom_propagate.OwnPropagate)
    assert scripted_matches(layer, x, edge_index) <= 1e-6


def _sequential(in_channels: int) -> Any:
    from torch_geometric.nn import GCNConv, Sequential

    return Sequential("x, edge_index", [
        (GCNConv(in_channels, 16), "x, edge_index -> x"),
        torch.nn.ReLU(inplace=True),
        (GCNConv(16, 4), "x, edge_index -> x"),
    ])


def test_sequential_scripts() -> None:
    torch.manual_seed(0)
    assert scripted_matches(_sequential(8), *graph()) <= 1e-6


def test_equal_sequential_sources_share_one_module() -> None:
    # Channel counts are not part of the generated source: one module serves all.
    first, second, third = _sequential(8), _sequential(8), _sequential(5)
    assert type(first) is type(second) is type(third)
    assert sys.modules[type(first).__module__].Sequential is type(first)
    assert first.module_0 is not second.module_0


def test_different_sequential_sources_never_share_a_module() -> None:
    from torch_geometric.nn import GCNConv, Sequential

    models = [
        Sequential("x, edge_index", [(GCNConv(8, 8), "x, edge_index -> x")] * depth)
        for depth in range(1, 6)
    ]
    assert len({type(model) for model in models}) == 5
    assert len({type(model).__module__ for model in models}) == 5
    x, edge_index = graph()
    for depth, model in enumerate(models, start=1):
        assert len(model) == depth
        assert scripted_matches(model, x, edge_index) <= 1e-6


@pytest.mark.parametrize("model", ["GCN", "GraphSAGE", "GIN", "GAT"])
def test_basic_gnn_models_script(model: str) -> None:
    from torch_geometric.nn import models

    torch.manual_seed(0)
    gnn = getattr(models, model)(8, 16, num_layers=2, out_channels=4)
    assert scripted_matches(gnn, *graph()) <= 1e-6


def test_generated_source_is_visible_to_inspect_and_tracebacks() -> None:
    from torch_geometric.nn import SAGEConv

    layer = SAGEConv(8, 4)
    generated = type(layer).propagate
    source = inspect.getsource(generated)
    assert source.startswith("def propagate(")
    assert generated.__module__ in sys.modules
    assert inspect.getsourcefile(generated) == sys.modules[generated.__module__].__file__
    x, edge_index = graph()
    with pytest.raises(Exception) as info:
        layer.propagate(edge_index.float(), x=(x, x))  # a float edge_index is refused
    assert "Expected 'edge_index' to be of integer type" in str(info.value)
    rendered = "\n".join(str(entry) for entry in info.traceback)
    assert "mutable_size = self._check_input(edge_index, size)" in rendered


def test_decomposed_layers_match_whole_layers() -> None:
    from torch_geometric.nn import GCNConv

    torch.manual_seed(0)
    whole = GCNConv(8, 4)
    split = GCNConv(8, 4, decomposed_layers=2)
    split.load_state_dict(whole.state_dict())
    x, edge_index = graph()
    assert split.decomposed_layers == 2
    assert split.propagate.__func__ is GCNConv._orig_propagate
    assert torch.allclose(split(x, edge_index), whole(x, edge_index), atol=1e-6)
    assert "propagate" not in vars(whole), "2.5.3 stores no bound propagate on the instance"


def test_explain_switches_propagate_and_back() -> None:
    from torch_geometric.nn import GCNConv

    conv = GCNConv(8, 4)
    generated = type(conv).propagate
    conv.explain = True
    assert conv.propagate.__func__ is GCNConv._orig_propagate
    conv.explain = False
    assert conv.propagate.__func__ is generated


def test_explainer_runs() -> None:
    from torch_geometric.explain import Explainer, GNNExplainer
    from torch_geometric.nn.models import GCN

    torch.manual_seed(0)
    model = GCN(8, 16, num_layers=2, out_channels=3)
    explainer = Explainer(
        model, algorithm=GNNExplainer(epochs=3), explanation_type="model",
        edge_mask_type="object", model_config=dict(
            mode="multiclass_classification", task_level="node", return_type="raw"))
    x, edge_index = graph()
    explanation = explainer(x, edge_index, index=0)
    assert explanation.edge_mask.shape == (edge_index.size(1),)
    x, edge_index = graph()
    assert scripted_matches(model, x, edge_index) <= 1e-6

