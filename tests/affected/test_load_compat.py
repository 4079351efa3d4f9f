"""torch.load'ed layers whose class this process never built (#9105)."""

from pathlib import Path

from tests.helpers import last_json, run_python


def test_explain_and_decomposed_layers_after_torch_load(tmp_path: Path) -> None:
    saved = tmp_path / "layer.pt"
    run_python(f"""
        import pyg_jit_shim, torch
        from torch_geometric.nn import GCNConv
        torch.manual_seed(0)
        torch.save(GCNConv(8, 4), {str(saved)!r})
    """)
    result = run_python(f"""
        import json, pyg_jit_shim, torch
        layer = torch.load({str(saved)!r}, weights_only=False)
        x = torch.randn(5, 8)
        edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
        reference = layer(x, edge_index)
        steps = []
        for name, value in [("explain", True), ("explain", False),
                            ("decomposed_layers", 2), ("decomposed_layers", 1)]:
            setattr(layer, name, value)
            out = layer(x, edge_index) if name != "explain" or value is False else None
            steps.append([name, value, None if out is None else
                          bool(torch.allclose(out, reference, atol=1e-6))])
        print(json.dumps(steps))
    """)
    # On 2.5.0-2.5.2 alone the first step raises: 'GCNConv' has no '_orig_propagate'.
    assert last_json(result) == [
        ["explain", True, None], ["explain", False, True],
        ["decomposed_layers", 2, True], ["decomposed_layers", 1, True],
    ]


def test_pickled_layers_round_trip(tmp_path: Path) -> None:
    result = run_python("""
        import io, json, pickle, pyg_jit_shim, torch
        from torch_geometric.nn import GATConv, GCNConv, SAGEConv
        torch.manual_seed(0)
        x = torch.randn(5, 8)
        edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
        same = []
        for layer in (GCNConv(8, 4), SAGEConv(8, 4), GATConv(8, 4, heads=2)):
            layer.eval()
            copy = pickle.loads(pickle.dumps(layer))
            buffer = io.BytesIO()
            torch.save(layer, buffer)
            buffer.seek(0)
            loaded = torch.load(buffer, weights_only=False)
            same.append([bool(torch.equal(layer(x, edge_index), other(x, edge_index)))
                         for other in (copy, loaded)])
            same[-1].append("propagate" not in vars(copy))
        print(json.dumps(same))
    """)
    assert last_json(result) == [[True, True, True]] * 3
