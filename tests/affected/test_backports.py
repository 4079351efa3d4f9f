"""Beyond 2.5.3: the generator fixes of PyG 2.6 (#9368, #9245, #9494).

Each makes code work that fails on every 2.5.x, 2.5.3 included, and changes
nothing for code that works: with every backport skipped (the fault recipes
of tests/faults_backports.py), the generated sources differ only where 2.6's
template differs, and every layer that scripts compiles to the same
TorchScript code.
"""

import json
import pickle
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch
import torch_geometric  # noqa: F401  (imported after the shim, as a service does)
from torch import Tensor
from torch_geometric.nn import GCN, GATConv

import pyg_jit_shim
from pyg_jit_shim.cli import conformance
from tests.faults_backports import FAULTS
from tests.helpers import environment, generated_sources, graph, last_json, run_python
from tests.layers import beyond, broken, custom_propagate, tutorial
from tests.probes import BEYOND_2_5_3, FAILS_WITHOUT_SHIM

BACKPORTS = {"restore-generation": "script-after-load",
             "inspector-keywords": "keyword-propagate",
             "collect-optional-edges": "untyped-optional-edges"}


def _aggregate(messages: Tensor, target: Tensor, nodes: int, reduce: str = "sum") -> Tensor:
    out = torch.zeros(nodes, messages.size(1))
    return out.scatter_reduce(0, target.view(-1, 1).expand_as(messages), messages,
                              reduce=reduce, include_self=False)


def _check(layer: Any, expected: Tensor, *inputs: Any) -> None:
    """Eager and scripted outputs both equal ``expected``."""
    layer.eval()
    assert torch.allclose(layer(*inputs), expected, atol=1e-6)
    assert torch.allclose(torch.jit.script(layer)(*inputs), expected, atol=1e-6)


# -- #9245: edge_index by keyword -------------------------------------------------

def test_edge_index_by_keyword_after_another_argument() -> None:
    # PyG's own test: `self.propagate(x=x, edge_index=edge_index)`.
    x, edge_index = graph()
    source, target = edge_index
    _check(beyond.KeywordFirst(), _aggregate(x[source], target, 6), x, edge_index)


def test_every_argument_by_keyword_in_any_order() -> None:
    x, edge_index = graph()
    weight = torch.rand(edge_index.size(1))
    source, target = edge_index
    expected = _aggregate(weight.view(-1, 1) * x[source], target, 6, "mean")
    _check(beyond.KeywordsReordered(), expected, x, edge_index, weight)


def test_calls_that_work_on_2_5_3_are_read_as_before() -> None:
    x, edge_index = graph()
    source, target = edge_index
    _check(beyond.KeywordsInOrder(), _aggregate(x[source], target, 6), x, edge_index)
    # A self-loop that the layer's own mask drops: its '!=' is no keyword.
    looped = torch.cat([edge_index, torch.tensor([[2], [2]])], dim=1)
    _check(beyond.ComparisonInCall(), _aggregate(x[source], target, 6), x, looped)
    for cls in (beyond.KeywordsInOrder, beyond.ComparisonInCall):
        params = list(cls._jinja_propagate.__code__.co_varnames[:4])
        assert params == ["self", "edge_index", "x", "size"], cls


# -- #9494: untyped optional edge arguments ------------------------------------------

def _optional_cases() -> Dict[str, Any]:
    x, edge_index = graph()
    source, target = edge_index
    torch.manual_seed(0)
    edges = edge_index.size(1)
    attr, edge_type = torch.rand(edges), torch.randint(0, 3, (edges,))
    type_layer = beyond.OptionalEdgeType()
    gate = (x[target] * x[source]).sum(dim=-1)
    return {
        # name: (layer, inputs, expected without the edge argument, with it)
        "edge_attr (PyG's own test)": (
            beyond.OptionalEdgeAttr(), (x, edge_index), attr,
            _aggregate(x[source], target, 6),
            _aggregate(x[source] * attr.view(-1, 1), target, 6)),
        "edge_weight": (
            beyond.OptionalEdgeWeight(), (x, edge_index), attr,
            _aggregate(x[source] - x[target], target, 6, "amax"),
            _aggregate((x[source] - x[target]) * attr.view(-1, 1), target, 6, "amax")),
        "edge_type": (
            type_layer, (x, edge_index), edge_type,
            _aggregate(x[source], target, 6),
            _aggregate(x[source] * type_layer.scale.weight[edge_type].detach(), target, 6)),
        "edge_attr through edge_updater()": (
            beyond.OptionalEdgeAttrUpdate(), (x, edge_index), attr,
            _aggregate(torch.sigmoid(gate).view(-1, 1) * x[source], target, 6),
            _aggregate(torch.sigmoid(gate + attr).view(-1, 1) * x[source], target, 6)),
    }


@pytest.mark.parametrize("name", sorted(_optional_cases()))
def test_untyped_optional_edge_argument(name: str) -> None:
    layer, inputs, argument, without, given = _optional_cases()[name]
    layer.eval()
    with torch.no_grad():
        assert torch.allclose(layer(*inputs), without, atol=1e-6)
        assert torch.allclose(layer(*inputs, argument), given, atol=1e-6)
        scripted = torch.jit.script(layer)
        assert torch.allclose(scripted(*inputs, argument), given, atol=1e-6)
        # Scripted, the argument stays required, as on PyG 2.6.1: TorchScript
        # types an unannotated argument Tensor, so its default None is an
        # undefined tensor and `edge_attr is None` is False there.
        with pytest.raises(RuntimeError, match="Expected a proper Tensor but got None"):
            scripted(*inputs)


# -- #9368: layers restored in a process that never built their class ------------

# A service's serving process: the shim first, then torch.load and script.
# Nothing here constructs a layer.
LOAD_THEN_SCRIPT = """
import json, pickle, sys
import pyg_jit_shim
import torch
import torch_geometric
from torch_geometric.nn import conv
from pyg_jit_shim.cli import conformance
from tests.helpers import generated_sources

directory, names = sys.argv[1], json.loads(sys.argv[2])
report = {"built_at_start": [name for name in names
                             if "_orig_propagate" in vars(getattr(conv, name))]}


# PyG's own test: a GATConv, scripted directly (every overload of forward).
gat = torch.load(directory + "/gat.pt", weights_only=False)
torch.jit.script(gat)
report["gat"] = sorted(generated_sources(type(gat)))
x, edge_index = torch.load(directory + "/inputs.pt")
for name in ("gcn_model", "own_propagate", "broken"):
    model = torch.load(directory + f"/{name}.pt", weights_only=False)
    expected = torch.load(directory + f"/{name}.out.pt")
    with torch.no_grad():
        diffs = [float((model(x, edge_index) - expected).abs().max())]
    if name != "broken":
        diffs.append(float((torch.jit.script(model)(x, edge_index) - expected).abs().max()))
    layer = model.convs[0] if name == "gcn_model" else model
    report[name] = [type(layer).propagate.__module__, diffs]
with open(directory + "/pickled.pkl", "rb") as file:
    layer = pickle.load(file)
report["pickled"] = float((torch.jit.script(layer)(x, edge_index)
                           - torch.load(directory + "/pickled.out.pt")).abs().max())

report["cases"] = [list(conformance.check_loaded(f"{directory}/{name}.pt")) for name in names]
report["sources"] = {name: generated_sources(getattr(conv, name)) for name in names}
print(json.dumps(report))
"""


def _save(directory: Path, name: str, model: Any, inputs: Any) -> None:
    model.eval()
    torch.save(model, directory / f"{name}.pt")
    with torch.no_grad():
        torch.save(model(*inputs), directory / f"{name}.out.pt")


def test_every_scripted_layer_scripts_after_torch_load_elsewhere(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    expected = conformance.load_expected()
    names = sorted(name for name, status in expected.items() if status == "scripted")
    for name in names:
        assert conformance.save_eager(name, tmp_path) == tmp_path / f"{name}.pt"
    torch.manual_seed(0)
    x, edge_index = graph()
    torch.save((x, edge_index), tmp_path / "inputs.pt")
    torch.save(GATConv(16, 32), tmp_path / "gat.pt")
    _save(tmp_path, "gcn_model", GCN(8, 16, num_layers=2, out_channels=4), (x, edge_index))
    _save(tmp_path, "own_propagate", custom_propagate.OwnPropagate(), (x, edge_index))
    _save(tmp_path, "broken", broken.KeywordNamedArgument(), (x, edge_index))
    layer = tutorial.TutorialEdgeConv(8, 4).eval()
    (tmp_path / "pickled.pkl").write_bytes(pickle.dumps(layer))
    torch.save(layer(x, edge_index).detach(), tmp_path / "pickled.out.pt")

    result = run_python(LOAD_THEN_SCRIPT, args=[str(tmp_path), json.dumps(names)])
    report = last_json(result)
    assert report["built_at_start"] == []
    outcomes = {name: (status, detail) for name, status, detail, _ in report["cases"]}
    assert outcomes == {name: ("ok", "") for name in names}
    assert max(diff for *_, diff in report["cases"]) <= 1e-6
    # The restored classes got the modules a constructed class gets.
    for name in names:
        from torch_geometric.nn import conv

        assert report["sources"][name] == generated_sources(getattr(conv, name)), name
    assert report["gat"] == ["edge_updater", "propagate"]
    module, diffs = report["gcn_model"]
    assert module.endswith("gcn_conv_GCNConv_propagate") and max(diffs) <= 1e-6
    module, diffs = report["own_propagate"]  # its own propagate() is kept
    assert module == "tests.layers.custom_propagate" and max(diffs) <= 1e-6
    assert report["pickled"] <= 1e-6
    # Generation fails for this class: said once, at load; eager keeps working.
    module, diffs = report["broken"]
    assert module == "torch_geometric.nn.conv.message_passing" and diffs == [0.0]
    warnings = [line for line in result.stderr.splitlines() if "pyg_jit_shim:" in line]
    assert len(warnings) == 1 and "KeywordNamedArgument" in warnings[0], result.stderr


# -- each backport is needed, and changes nothing else --------------------------

def test_without_the_shim_each_case_fails(tmp_path: Path) -> None:
    torch.manual_seed(0)
    files = [str(tmp_path / "edge_conv.pt"), str(tmp_path / "gcn.pt")]
    torch.save(tutorial.TutorialEdgeConv(8, 4), files[0])
    torch.save(tutorial.TutorialGCN(8, 4), files[1])
    result = run_python(BEYOND_2_5_3, env=environment(PYG_JIT_SHIM="off"), args=files)
    outcome = last_json(result)
    assert outcome.pop("shim") == "disabled"
    assert outcome == FAILS_WITHOUT_SHIM
    with_shim = last_json(run_python(BEYOND_2_5_3, args=files))
    assert with_shim.pop("shim") == "patched"
    assert set(with_shim.values()) == {"ok"}


# Every backport skipped by its fault recipe: the shim as it is without them.
WITHOUT_BACKPORTS = """
import json, sys
import torch_geometric
{faults}
import pyg_jit_shim
from pyg_jit_shim.cli import conformance
from tests.helpers import generated_sources
from torch_geometric.nn import conv

status = pyg_jit_shim.status()
names = json.loads(sys.argv[1])
code = {{name: conformance.scripted_code(name) for name in names}}
sources = {{name: generated_sources(getattr(conv, name)) for name in names}}
print(json.dumps([status.verdict, list(status.skipped), list(status.fixes), code, sources]))
"""


def _as_on_2_6(source: str) -> str:
    """``source`` with PyG 2.6's collect.jinja change (#9494) made by hand."""
    for name in ("edge_weight", "edge_attr", "edge_type"):
        source = source.replace(
            f"\n    assert {name} is not None\n",
            f"\n    if torch.jit.is_scripting():\n        assert {name} is not None\n")
    return source


def test_backports_change_nothing_that_works() -> None:
    names = sorted(name for name, status in conformance.load_expected().items()
                   if status == "scripted")
    faults = "\n".join(FAULTS[patch] for patch in BACKPORTS)
    code = WITHOUT_BACKPORTS.format(faults=faults)
    verdict, skipped, fixes, baseline_code, baseline_sources = last_json(
        run_python(code, args=[json.dumps(names)]))
    assert verdict == "partial"
    assert sorted(line.split(":")[0] for line in skipped) == sorted(BACKPORTS)
    assert not set(BACKPORTS.values()) & set(fixes)

    from torch_geometric.nn import conv

    changed: List[str] = []
    for name in names:
        code_here = conformance.scripted_code(name)
        assert code_here, name
        assert code_here == baseline_code[name], name
        sources = generated_sources(getattr(conv, name))
        assert sorted(sources) == sorted(baseline_sources[name]), name
        for kind, source in sources.items():
            assert source == _as_on_2_6(baseline_sources[name][kind]), (name, kind)
            if source != baseline_sources[name][kind]:
                changed.append(name)
    # Layers whose collect() asserts a Tensor edge argument: SGConv, GINEConv,
    # NNConv, FastRGCNConv, ...; their TorchScript code is the same above.
    assert len(changed) >= 10


def test_status_names_the_backports() -> None:
    status = pyg_jit_shim.status()
    assert set(BACKPORTS.values()) <= set(status.fixes)



def test_check_fails_where_a_repaired_layer_does_not_script_after_load() -> None:
    # The check claims the repair, but its serving-side interpreter runs
    # without the shim (as a serving process that never imports it would).
    result = run_python("""
import os, sys
import pyg_jit_shim
import torch_geometric
os.environ["PYG_JIT_SHIM"] = "off"
from pyg_jit_shim.__main__ import main
sys.exit(main(["check"]))
""", check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "OK: every layer that PyG 2.5.3 scripts scripts here." in lines
    (failure,) = [line for line in lines if line.startswith("FAIL:")]
    assert failure.startswith("FAIL: scripted here, but not after torch.load elsewhere: ")
    assert "GCNConv" in failure.split(": ", 2)[2].split(", ")
    (gcn,) = [line.split() for line in lines if line.split()[1:2] == ["GCNConv"]]
    assert gcn[0] == "script-failed" and "variable number of arguments" in " ".join(gcn)
