"""Every import order a service may have, each in a fresh interpreter."""

import json

from tests.helpers import environment, last_json, run_python
from tests.probes import DESCRIBE, IDENTITIES, SCRIPT_GCN


def _describe(prelude: str, **env: str) -> dict:
    result = run_python(prelude + "\n" + SCRIPT_GCN + DESCRIBE.replace(
        'print(json.dumps(report))',
        'report["scripted"] = scripted\nprint(json.dumps(report))'), env=environment(**env))
    return last_json(result)


def _assert_patched(report: dict) -> None:
    assert report["verdict"] == "patched"
    assert report["scripted"] is True
    assert report["generator_wraps"] == 1
    assert report["innermost_is_pygs"]
    assert report["bindings_agree"]
    assert report["init_wraps"] == 1


def test_shim_first() -> None:
    _assert_patched(_describe("import pyg_jit_shim\nimport torch_geometric"))


def test_pyg_first() -> None:
    _assert_patched(_describe("import torch_geometric\nimport pyg_jit_shim"))


def test_pyg_submodule_first() -> None:
    _assert_patched(_describe(
        "from torch_geometric.nn.conv import MessagePassing\nimport pyg_jit_shim"))


def test_shim_twice_patches_once() -> None:
    _assert_patched(_describe(
        "import importlib, pyg_jit_shim\n"
        "importlib.reload(pyg_jit_shim)\n"
        "import torch_geometric\n"
        "importlib.reload(pyg_jit_shim)\n"
        "pyg_jit_shim.patch(); pyg_jit_shim.patch()"))


def test_off_touches_nothing() -> None:
    report = _describe("import pyg_jit_shim\nimport torch_geometric", PYG_JIT_SHIM="off")
    assert report["verdict"] == "disabled"
    assert report["generator_is_pygs"] and report["bindings_agree"]
    assert report["init_is_plain"]
    assert not report["wrapt_imported"]


def test_unpatch_restores_every_object_and_patch_reapplies() -> None:
    code = IDENTITIES + """
import json
import torch_geometric
before = identities()
import pyg_jit_shim
patched = identities()
pyg_jit_shim.unpatch()
after = identities()
verdict_after = pyg_jit_shim.status().verdict
pyg_jit_shim.patch()
again = identities()
print(json.dumps([before, patched, after, verdict_after, again,
                  pyg_jit_shim.status().verdict]))
"""
    before, patched, after, verdict_after, again, verdict_again = last_json(run_python(code))
    changed = {name for name in before if before[name] != patched[name]}
    mp = "torch_geometric.nn.conv.message_passing."
    assert {"torch_geometric.template.module_from_template", mp + "module_from_template",
            "torch_geometric.nn.sequential.module_from_template", mp + "MessagePassing.__init__",
            mp + "MessagePassing.explain", mp + "MessagePassing.decomposed_layers",
            "sys.meta_path"} <= changed
    assert after == before
    assert verdict_after == "unpatched"
    assert {name for name in before if before[name] != again[name]} == changed
    assert verdict_again == "patched"


def test_unpatch_before_pyg_is_imported_leaves_it_alone() -> None:
    report = _describe("import pyg_jit_shim\npyg_jit_shim.unpatch()\nimport torch_geometric")
    assert report["verdict"] == "unpatched"
    assert report["generator_is_pygs"] and report["init_is_plain"]


def test_status_is_json_ready() -> None:
    result = run_python("""
        import json, pyg_jit_shim, torch_geometric
        print(json.dumps(pyg_jit_shim.status().as_dict()))
    """)
    status = json.loads(result.stdout.strip().splitlines()[-1])
    assert status["verdict"] == "patched"
    assert status["mode"] == "auto"


BUILT_BEFORE = """
    import json, sys, torch
    from torch_geometric.nn import GCNConv
    from tests.layers.custom_propagate import OwnPropagate
    early = GCNConv(4, 4), OwnPropagate()  # PyG's own generator handles these
    pygs = GCNConv.propagate
    import pyg_jit_shim
    x = torch.randn(5, 4)
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    summed = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
    doubled = bool(torch.allclose(OwnPropagate()(x, edge_index), 2 * summed))

    def scripts(layer):
        try:
            torch.jit.script(layer)
            return True
        except Exception as error:
            return type(error).__name__

    # A failed torch.jit.script of a class spoils later tries in that process:
    # the early instance is scripted either before or after the next construction.
    before = scripts(early[0]) if sys.argv[1] == "before" else None
    late = GCNConv(4, 4)  # the next construction of the class
    regenerated = GCNConv.propagate is not pygs
    after = scripts(early[0]) if sys.argv[1] == "after" else None
    print(json.dumps([doubled, regenerated, before or after, scripts(late)]))
"""


def test_layers_built_before_the_shim_are_named_and_repaired() -> None:
    results = [run_python(BUILT_BEFORE, args=[when]) for when in ("before", "after")]
    (doubled, regenerated, before, late), (_, _, after, _) = map(last_json, results)
    assert doubled  # the own propagate() PyG had replaced is back
    # The early instance has what its class has: PyG's methods, or the fallback
    # until the next construction generates them.
    assert (before, after, late) == ("NotSupportedError" if regenerated else True, True, True)
    (warning,) = [line for line in results[0].stderr.splitlines() if "built before" in line]
    what = ("PyG could not generate their methods; the shim generates them at the next "
            "construction of each class (until then torch.jit.script fails)" if regenerated
            else "kept as PyG generated them, without the shim's repairs")
    assert warning == (
        "pyg_jit_shim: 2 layer class(es) were built before the shim was active (instances "
        f"built earlier get what their class gets); {what}: "
        "torch_geometric.nn.conv.gcn_conv.GCNConv; own methods restored: "
        "OwnPropagate.propagate. Import pyg_jit_shim before building layers.")
