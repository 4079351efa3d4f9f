"""Importing the shim changes nothing a program computes or keeps, compared with
the same PyG release alone (``PYG_JIT_SHIM=off``) in the same test: the random
numbers a seeded program draws after copying and pickling models, the files and
modules copies leave, and the memory a layer's module lets go of."""

import json
from pathlib import Path
from typing import Any, Dict

from tests.helpers import environment, last_json, run_python, run_script

# A seeded program that copies and pickles a model holding Sequential models
# (a best-model snapshot, an EMA copy, a checkpoint test), then draws.
COPIES = """
import copy, io, json, os, pickle, random, sys, tempfile
import pyg_jit_shim, torch
from tests.helpers import graph
from tests.layers.sequential_models import Net

torch.manual_seed(0)
model = Net().eval()
x, edge_index = graph()
expected = model(x, edge_index)
if sys.argv[1:] == ["unpatch"]:
    pyg_jit_shim.unpatch()
modules, files = set(sys.modules), set(os.listdir(tempfile.gettempdir()))
random.seed(7)
torch.manual_seed(7)
copies = [copy.deepcopy(model) for _ in range(20)] + [copy.copy(model) for _ in range(5)]
loaded = []
if sys.argv[1:] != ["unpatch"]:
    for _ in range(10):
        loaded.append(pickle.loads(pickle.dumps(model)))
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        loaded.append(torch.load(buffer, weights_only=False))
print(json.dumps({
    "draws": [random.random() for _ in range(3)] + torch.rand(3).tolist(),
    "equal": all(bool(torch.equal(m(x, edge_index), expected)) for m in copies + loaded),
    "same classes": all(type(m.encoder) is type(model.encoder) for m in copies + loaded),
    # Generated modules (torch.save imports a module of torch's the first time).
    "new modules": sorted(name for name in set(sys.modules) - modules
                          if "sequential_" in name or name.endswith("_propagate")),
    "new files": sorted(set(os.listdir(tempfile.gettempdir())) - files),
}))
"""


def _copies(tmp_path: Path, mode: str, *args: str) -> Dict[str, Any]:
    # An empty temp dir of its own: PyG alone writes its generated files there.
    directory = tmp_path / f"{mode}-{'-'.join(args)}"
    directory.mkdir()
    result = run_python(COPIES, env=environment(PYG_JIT_SHIM=mode, TMPDIR=str(directory)),
                        args=args)
    found: Dict[str, Any] = last_json(result)
    return found


def test_a_seeded_program_draws_the_same_numbers_after_copies_and_pickles(
        tmp_path: Path) -> None:
    here, alone = _copies(tmp_path, "auto"), _copies(tmp_path, "off")
    assert here["draws"] == alone["draws"]
    assert here["equal"] and alone["equal"]
    assert here["same classes"] and alone["same classes"]
    # Copies and in-process pickles build no module and write no file.
    assert here["new modules"] == alone["new modules"] == []
    assert here["new files"] == alone["new files"] == []


def test_copies_after_unpatch_leave_nothing_behind(tmp_path: Path) -> None:
    here, alone = _copies(tmp_path, "auto", "unpatch"), _copies(tmp_path, "off", "unpatch")
    assert here["draws"] == alone["draws"]
    assert here["equal"] and here["same classes"]
    assert here["new modules"] == alone["new modules"] == []
    assert here["new files"] == alone["new files"] == []


# Loading a pickle the shim wrote, in a process that never built the model:
# what it draws is what it draws without any load (PyG alone draws nothing to
# load a pickle in the process that wrote it).
SAVE = """
import sys, torch
import pyg_jit_shim
from tests.layers.sequential_models import Net
torch.save(Net(), sys.argv[1])
"""
LOAD = """
import json, random, sys, torch
import pyg_jit_shim
random.seed(3)
first = torch.load(sys.argv[1], weights_only=False)
second = torch.load(sys.argv[2], weights_only=False)
draw = random.random()
random.seed(3)
print(json.dumps([draw == random.random(), type(first.encoder) is type(second.encoder)]))
"""


def test_loading_a_pickle_draws_no_random_number(tmp_path: Path) -> None:
    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    for path in (first, second):
        run_python(SAVE, args=[str(path)])
    for mode in ("auto", "off"):
        # Also with PyG alone (off), whose own generator then builds the class:
        # each load still gets a module name of its own.
        unchanged, same_class = last_json(run_python(
            LOAD, env=environment(PYG_JIT_SHIM=mode, TMPDIR=str(tmp_path)),
            args=[str(first), str(second)]))
        assert unchanged, mode
        assert same_class == (mode == "auto"), mode


# A layer beside a 40 MB private buffer that the layer's module deletes; the
# layer's propagate_type names a private alias, which must still resolve.
LAYER_MODULE = """
from typing import Optional
import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing

_buffer = torch.zeros(10_000_000)
_Weight = Optional[Tensor]


class Weighted(MessagePassing):
    def forward(self, x: Tensor, edge_index: Tensor, weight: _Weight = None) -> Tensor:
        # propagate_type: (x: Tensor, weight: _Weight)
        return self.propagate(edge_index, x=x, weight=weight)

    def message(self, x_j: Tensor, weight: _Weight) -> Tensor:
        return x_j if weight is None else x_j * weight.view(-1, 1)
"""
FREED = """
import gc, json, sys, weakref
import pyg_jit_shim, torch
import big_layer
from tests.helpers import graph

x, edge_index = graph()
scripted = None
try:  # PyG 2.5.0 alone cannot build it (NameError: _Weight), 2.5.2 alone not script it
    layer = big_layer.Weighted()
    scripted = float((torch.jit.script(layer)(x, edge_index) - layer(x, edge_index)).abs().max())
except Exception:
    pass
freed = weakref.ref(big_layer._buffer)
del big_layer._buffer
gc.collect()
print(json.dumps({"freed": freed() is None, "scripted": scripted}))
"""


def test_a_private_global_of_the_layers_module_is_freed(tmp_path: Path) -> None:
    (tmp_path / "big_layer.py").write_text(LAYER_MODULE)
    found = {}
    for mode in ("auto", "off"):
        # The script runs in tmp_path, which is first on its sys.path.
        result = run_script(FREED, tmp_path, env=environment(PYG_JIT_SHIM=mode))
        found[mode] = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["auto"]["freed"] and found["off"]["freed"]
    # The private alias resolves for the shim (PyG alone skips it on 2.5.x:
    # "import *" does not export private names, so its scripting fails).
    assert found["auto"]["scripted"] is not None and found["auto"]["scripted"] <= 1e-6
