"""On every release the shim does not repair, it touches no object at all."""

from tests.helpers import PYG, environment, last_json, run_python
from tests.probes import IDENTITIES


def test_pyg_first_then_shim_changes_nothing() -> None:
    result = run_python(IDENTITIES + """
import json, sys
import torch_geometric
from torch_geometric.nn import GCNConv
before = identities()
import pyg_jit_shim
GCNConv(4, 4)
after = identities()
print(json.dumps([before, after, "wrapt" in sys.modules, pyg_jit_shim.status().as_dict()]))
""")
    before, after, wrapt_imported, status = last_json(result)
    assert before == after
    assert not wrapt_imported
    assert status["verdict"] == "untouched"
    assert status["pyg_version"] == PYG
    assert status["fixes"] == []


def test_shim_first_leaves_pygs_own_objects() -> None:
    result = run_python(IDENTITIES + """
import json, sys
import pyg_jit_shim
import torch_geometric
from torch_geometric.nn import GCNConv
GCNConv(4, 4)
print(json.dumps([identities(), "wrapt" in sys.modules, pyg_jit_shim.status().verdict]))
""")
    found, wrapt_imported, verdict = last_json(result)
    assert not wrapt_imported
    assert verdict == "untouched"
    finders = found.pop("sys.meta_path")[2]
    assert not [module for module in finders if module.startswith("pyg_jit_shim")]
    for name, (_, kind, module) in found.items():
        # (Sequential is a class from PyG 2.6 on.)
        assert kind in ("function", "property", "type"), name
        assert module is None or module.startswith("torch_geometric"), name


def test_strict_changes_nothing_either() -> None:
    result = run_python(IDENTITIES + """
import json, sys
import torch_geometric
before = identities()
import pyg_jit_shim
print(json.dumps([before == identities(), "wrapt" in sys.modules,
                  pyg_jit_shim.status().verdict]))
""", env=environment(PYG_JIT_SHIM="strict"))
    assert last_json(result) == [True, False, "untouched"]
