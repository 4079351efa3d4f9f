"""A model holding ``torch_geometric.nn.Sequential`` is saved with ``torch.save``
in one interpreter and loaded with ``torch.load`` in a fresh one that never
built it (#9369; on 2.5.x, 2.5.3 included, the load fails without the shim)."""

import copy
import functools
import pickle
import sys
from pathlib import Path
from typing import Any, Dict, List

import torch

from tests.helpers import environment, graph, last_json, run_python, scripted_matches
from tests.layers import sequential_models

# Saves a Net with what the loading side compares against: the eager output,
# repr, state_dict keys and the scripted code of every Sequential in it.
SAVE = """
import json, sys, torch
import pyg_jit_shim
from tests.helpers import graph
from tests.layers.sequential_models import Net

torch.manual_seed(0)
model = Net().eval()
x, edge_index = graph()
parts = {"encoder": model.encoder, "readout": model.readout, "inner": model.readout[0]}
expected = {
    "repr": repr(model),
    "keys": list(model.state_dict()),
    "lengths": {name: len(part) for name, part in parts.items()},
    "descs": {name: list(part._module_descs) for name, part in parts.items()},
    "children": {name: [type(part[i]).__name__ for i in range(len(part))]
                 for name, part in parts.items()},
}
if SCRIPTED:
    scripted = torch.jit.script(model)
    expected["code"] = {"encoder": scripted.encoder.code, "readout": scripted.readout.code,
                        "inner": getattr(scripted.readout, "module_0").code}
with torch.no_grad():
    output = model(x, edge_index)
torch.save({"model": model, "output": output, "expected": expected}, sys.argv[1])
print(json.dumps(pyg_jit_shim.status().verdict))
"""

# Loads it in an interpreter that has built no Sequential, and reports what a
# user would look at.
LOAD = """
import json, sys, torch
FIRST
from tests.helpers import graph
import tests.layers.sequential_models

saved = torch.load(sys.argv[1], weights_only=False)
model, expected = saved["model"], saved["expected"]
x, edge_index = graph()
parts = {"encoder": model.encoder, "readout": model.readout, "inner": model.readout[0]}
with torch.no_grad():
    output = model(x, edge_index)
report = {
    "equal": bool(torch.equal(output, saved["output"])),
    "repr": repr(model) == expected["repr"],
    "keys": list(model.state_dict()) == expected["keys"],
    "lengths": {name: len(part) for name, part in parts.items()} == expected["lengths"],
    "descs": {name: list(part._module_descs) for name, part in parts.items()}
             == expected["descs"],
    "children": {name: [type(part[i]).__name__ for i in range(len(part))]
                 for name, part in parts.items()} == expected["children"],
    "class_modules": sorted({type(part).__module__ for part in parts.values()}),
}
if SCRIPTED:
    scripted = torch.jit.script(model)
    with torch.no_grad():
        report["scripted_difference"] = float((scripted(x, edge_index) - output).abs().max())
    report["code"] = {"encoder": scripted.encoder.code, "readout": scripted.readout.code,
                      "inner": getattr(scripted.readout, "module_0").code} == expected["code"]
# reset_parameters() reaches every child that has one: each weight is drawn
# again (biases start at zero).
weights = [p for p in model.parameters() if p.dim() > 1]
before = [p.detach().clone() for p in weights]
for part in parts.values():
    part.reset_parameters()
report["reset"] = len(weights) == 4 and all(
    not torch.equal(a, b) for a, b in zip(before, weights))
print(json.dumps(report))
"""


def _save(path: Path, scripted: bool = True, **env: str) -> str:
    code = SAVE.replace("SCRIPTED", str(scripted))
    result = run_python(code, env=environment(**env), args=[str(path)])
    return str(last_json(result))


def _load(path: Path, first: str = "import pyg_jit_shim", scripted: bool = True,
          **env: str) -> Dict[str, Any]:
    code = LOAD.replace("FIRST", first).replace("SCRIPTED", str(scripted))
    report: Dict[str, Any] = last_json(run_python(code, env=environment(**env), args=[str(path)]))
    return report


def _assert_same_model(report: Dict[str, Any]) -> None:
    for check in ("equal", "repr", "keys", "lengths", "descs", "children", "reset"):
        assert report[check] is True, check
    # One class per architecture, each generated in the loading process.
    assert all(name.startswith("torch_geometric.nn.sequential_")
               for name in report["class_modules"])
    assert len(report["class_modules"]) == 3


def test_a_saved_model_loads_and_scripts_in_a_fresh_process(tmp_path: Path) -> None:
    path = tmp_path / "net.pt"
    assert _save(path) == "patched"
    report = _load(path)
    _assert_same_model(report)
    assert report["code"] is True
    assert report["scripted_difference"] <= 1e-6


def test_it_loads_before_torch_geometric_is_imported(tmp_path: Path) -> None:
    # torch.load imports PyG itself; the shim is imported first, as in a service.
    path = tmp_path / "net.pt"
    _save(path)
    code = """
        import json, sys, torch, pyg_jit_shim
        model = torch.load(sys.argv[1], weights_only=False)["model"]
        print(json.dumps([len(model.encoder), pyg_jit_shim.status().verdict]))
    """
    assert last_json(run_python(code, args=[str(path)])) == [3, "patched"]


def test_a_pickle_written_with_the_shim_loads_with_pyg_alone(tmp_path: Path) -> None:
    # It names PyG's own Sequential(), not the shim: pinning the shim never
    # makes an artefact depend on it. (PyG 2.5.x alone cannot script a
    # restored GCNConv, #9368, so only the eager model is compared.)
    path = tmp_path / "net.pt"
    _save(path)
    with open(path, "rb") as file:
        assert b"pyg_jit_shim" not in file.read()
    _assert_same_model(_load(path, first="", scripted=False, PYG_JIT_SHIM="off"))


FRESH_AND_LOADED = """
import json, sys, torch
import pyg_jit_shim
from tests.layers import sequential_models

early = sequential_models.encoder(8)
model = torch.load(sys.argv[1], weights_only=False)["model"]
late = sequential_models.readout(4)
print(json.dumps([type(model.encoder) is type(early), type(model.readout) is type(late),
                  type(model.readout[0]) is type(late[0])]))
"""


def test_the_class_is_the_one_built_here_for_the_same_layout(tmp_path: Path) -> None:
    path = tmp_path / "net.pt"
    _save(path)
    assert last_json(run_python(FRESH_AND_LOADED, args=[str(path)])) == [True, True, True]


def _old_pickle(path: Path) -> None:
    _save(path, scripted=False, PYG_JIT_SHIM="off")


LOAD_OLD = """
import json, sys, torch
FIRST
outcome = {}
for attempt in ("first", "again"):
    try:
        torch.load(sys.argv[1], weights_only=False)
        outcome[attempt] = None
    except ModuleNotFoundError as error:
        outcome[attempt] = [type(error).__name__, error.name, str(error)]
print(json.dumps(outcome))
"""


def test_a_pickle_written_without_the_shim_says_why_it_cannot_load(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    _old_pickle(path)
    outcome = last_json(run_python(LOAD_OLD.replace("FIRST", "import pyg_jit_shim"),
                                   args=[str(path)]))
    kind, name, text = outcome["first"]
    assert outcome["again"] == outcome["first"]
    assert kind == "SequentialPickleError"
    assert name.startswith("torch_geometric.nn.sequential_")
    assert text.startswith(f"No module named {name!r}: ")
    for advice in ("existed only in the process that saved it", "state_dict()",
                   "with pyg_jit_shim imported"):
        assert advice in text


def test_without_the_shim_the_old_pickle_fails_as_it_always_did(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    _old_pickle(path)
    for first, env in (("", {"PYG_JIT_SHIM": "off"}),
                       ("import pyg_jit_shim, torch_geometric\npyg_jit_shim.unpatch()", {})):
        outcome = last_json(run_python(LOAD_OLD.replace("FIRST", first), env=environment(**env),
                                       args=[str(path)]))
        kind, name, text = outcome["first"]
        assert kind == "ModuleNotFoundError"
        assert text == f"No module named {name!r}"


UNPATCH = """
import json, sys, torch
import pyg_jit_shim
from torch_geometric.nn import Sequential

def model(width):
    return Sequential("x", [(torch.nn.Linear(2, 2), "x -> x")] * width)

torch.save(model(1), sys.argv[1] + "/patched.pt")
pyg_jit_shim.unpatch()
torch.save(model(2), sys.argv[1] + "/unpatched.pt")
pyg_jit_shim.patch()
torch.save(model(3), sys.argv[1] + "/again.pt")
"""

LOAD_EACH = """
import json, sys, torch
import pyg_jit_shim

def outcome(name):
    try:
        return len(torch.load(sys.argv[1] + "/" + name, weights_only=False))
    except ModuleNotFoundError as error:
        return type(error).__name__

report = [outcome(name) for name in ("patched.pt", "unpatched.pt", "again.pt")]
pyg_jit_shim.unpatch()
report.append(outcome("unpatched.pt"))
print(json.dumps(report))
"""


def test_unpatch_returns_to_pygs_pickles_and_messages(tmp_path: Path) -> None:
    run_python(UNPATCH, args=[str(tmp_path)])
    assert last_json(run_python(LOAD_EACH, args=[str(tmp_path)])) == [
        1, "SequentialPickleError", 3, "ModuleNotFoundError"]


# In this process (the shim is imported by conftest): copies keep working.
def _net() -> Any:
    torch.manual_seed(0)
    return sequential_models.Net().eval()


def _classes(model: Any) -> List[type]:
    return [type(model.encoder), type(model.readout), type(model.readout[0])]


def test_pickle_in_process_gives_a_working_model_of_the_same_classes() -> None:
    model = _net()
    x, edge_index = graph()
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(model, protocol=protocol))
        assert _classes(restored) == _classes(model)
        assert restored.encoder[0] is not model.encoder[0]
        with torch.no_grad():
            assert torch.equal(restored(x, edge_index), model(x, edge_index))
        assert scripted_matches(restored, x, edge_index) <= 1e-6


def test_deepcopy_gives_a_working_model_of_the_same_classes() -> None:
    model = _net()
    model.encoder.note = "kept"  # a user's own attribute
    copied = copy.deepcopy(model)
    x, edge_index = graph()
    assert _classes(copied) == _classes(model)
    assert copied.encoder.note == "kept"
    assert repr(copied) == repr(model)
    with torch.no_grad():
        assert torch.equal(copied(x, edge_index), model(x, edge_index))
        next(copied.parameters()).add_(1.0)  # a copy, not a view
        assert not torch.equal(copied(x, edge_index), model(x, edge_index))
    assert scripted_matches(copied, x, edge_index) <= 1e-6


def test_a_child_that_refers_back_to_its_model_still_pickles() -> None:
    # The children travel in the state, as without the shim, so a cycle
    # through them (a hook that holds the model) pickles as before.
    model = sequential_models.encoder(8)
    model.calls = []
    model[0].register_forward_hook(functools.partial(sequential_models.note_call, model))
    restored = pickle.loads(pickle.dumps(model))
    restored(*graph())
    assert restored.calls == ["GCNConv"] and model.calls == []


def test_the_built_class_is_unchanged_but_for_pickling() -> None:
    # What a Sequential(...) call returns is PyG's generated class, from PyG's
    # unchanged source; the class gains only its __reduce_ex__ (for pickles),
    # and __copy__ and __deepcopy__ (copies as without the shim).
    model = sequential_models.encoder(8)
    cls = type(model)
    module = sys.modules[cls.__module__]
    assert cls.__name__ == "Sequential" and module.Sequential is cls
    methods = {"__getitem__", "__len__", "__repr__", "__reduce_ex__", "__copy__",
               "__deepcopy__"}
    assert {name for name in vars(cls) if not name.startswith("__") or name in methods} == {
        "reset_parameters", "forward", *methods}


# What a Sequential(...) call gives: its generated source, repr, state_dict
# keys and (for children that PyG alone scripts on every affected release)
# its scripted code.
DESCRIBE_BUILT = """
import inspect, json, sys, torch
from torch_geometric.nn import Sequential
from tests.layers import sequential_models

plain = Sequential("x: Tensor -> Tensor", [
    (torch.nn.Linear(4, 8), "x -> h"), torch.nn.ReLU(), (torch.nn.Linear(8, 2), "h -> x")])
models = {"plain": plain, "encoder": sequential_models.encoder(8),
          "readout": sequential_models.readout(4)}
print(json.dumps({
    "sources": {name: inspect.getsource(sys.modules[type(model).__module__])
                for name, model in models.items()},
    "reprs": {name: repr(model) for name, model in models.items()},
    "keys": {name: list(model.state_dict()) for name, model in models.items()},
    "code": torch.jit.script(plain).code,
}))
"""


def test_a_sequential_is_built_as_by_pyg_alone() -> None:
    here = last_json(run_python(DESCRIBE_BUILT))
    alone = last_json(run_python(DESCRIBE_BUILT, env=environment(PYG_JIT_SHIM="off")))
    assert here == alone
