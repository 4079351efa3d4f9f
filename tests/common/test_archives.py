"""``pyg_jit_shim.save``: TorchScript archives that load without PyG, on every release.

Every conv layer that scripts here (check's self-test table) is saved with
``torch.jit.save`` and with ``pyg_jit_shim.save``; both sets are loaded in one
fresh interpreter where neither PyG, the shim nor the tests can be imported,
as on a serving host that has only torch. ``torch.jit.save``'s archives fail
for GCNConv, ChebConv and 19 more layers on every release (PyG #8867);
``pyg_jit_shim.save``'s load, with outputs equal to eager, for all but
RGATConv, whose own ``forward`` holds what TorchScript cannot write. The
in-process scripted module prints and computes exactly as before the call.
"""

import importlib
import io
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import torch
import torch_geometric  # noqa: F401  (after the shim, as a service imports them)

import pyg_jit_shim
from pyg_jit_shim.cli import conformance
from tests.helpers import (
    IS_AFFECTED,
    PYG,
    REPO,
    graph,
    last_json,
    load_without_pyg,
    run_python,
)

# The releases with a generator; on 2.4.0 a layer scripts only through its
# `.jittable()` copy, so check's table scripts none there (tested below).
WITH_GENERATOR = ("2.5.0", "2.5.1", "2.5.2", "2.5.3", "2.6.1", "2.7.0", "2.8.1")
# The layer whose own code TorchScript cannot write (an untyped `=None`).
OUT_OF_REACH = {"RGATConv": "RGATConv.forward(return_attention_weights=None)"}
TYPE_MISMATCH = "Type mismatch"
UNDEFINED = "strides() called on an undefined Tensor"


def printed(module: Any) -> Dict[str, Tuple[str, str]]:
    """Every method's code and graph, as a user prints them."""
    found = {}
    for path, submodule in module.named_modules():
        for name in submodule._c._method_names():
            method = submodule._c._get_method(name)
            try:
                code = method.code
            except RuntimeError as error:  # ChebConv: not printable before the call either
                code = f"not printable: {error}"
            found[f"{path}.{name}"] = (code, str(method.graph))
    return found


def _data(args: Tuple[Any, ...], expected: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save({"args": args, "expected": expected}, buffer)
    return buffer.getvalue()


class Saved:
    """Both archives of every case: written by the tests' own ``keep``, which
    conformance calls with a case's scripted module once it equals eager."""

    def __init__(self, directory: Path) -> None:
        self.plain, self.shim = directory / "plain", directory / "shim"
        self.plain.mkdir()
        self.shim.mkdir()
        self.plain_failed: Dict[str, str] = {}
        self.shim_failed: Dict[str, BaseException] = {}
        self.changed: List[str] = []
        self.scripted: List[str] = []
        # Whether pyg_jit_shim.save wrote torch.jit.save's very bytes (to a file
        # object both: a path's archive is named after the file).
        self.same_bytes: Dict[str, bool] = {}

    def keep(self, name: str) -> Any:
        def keep(scripted: Any, args: Tuple[Any, ...], expected: Any) -> None:
            self.scripted.append(name)
            extra = {conformance._SAVED_DATA: _data(args, expected)}
            before = printed(scripted)
            plain = io.BytesIO()
            try:
                torch.jit.save(scripted, plain, _extra_files=extra)
            except RuntimeError as error:
                self.plain_failed[name] = str(error)
            else:
                (self.plain / f"{name}.pt").write_bytes(plain.getvalue())
            shim = io.BytesIO()
            try:
                pyg_jit_shim.save(scripted, shim, _extra_files=extra)
                pyg_jit_shim.save(scripted, self.shim / f"{name}.pt", _extra_files=extra)
            except pyg_jit_shim.ArchiveError as error:
                self.shim_failed[name] = error
            else:
                self.same_bytes[name] = shim.getvalue() == plain.getvalue()
            if printed(scripted) != before:
                self.changed.append(name)

        return keep


@pytest.fixture(scope="module")
def saved(tmp_path_factory: Any) -> Tuple[Saved, Dict[str, List[Any]], Dict[str, List[Any]]]:
    found = Saved(tmp_path_factory.mktemp("archives"))
    for name in sorted(conformance.load_expected_round_trip()):
        conformance._run(name, keep=found.keep(name))
    paths = sorted(str(path) for directory in (found.plain, found.shim)
                   for path in directory.glob("*.pt"))
    missing, imported, results = load_without_pyg(conformance.__file__, paths)
    assert missing == ["torch_geometric", "pyg_jit_shim", "tests"]
    assert imported == []
    outcomes: Dict[str, Dict[str, List[Any]]] = {"plain": {}, "shim": {}}
    for path, result in zip(paths, results):
        outcomes[Path(path).parent.name][result[0]] = result[1:]
    return found, outcomes["plain"], outcomes["shim"]


class Typed(torch.nn.Module):
    """A layer whose ``forward`` is overloaded (PyG 2.4's GCNConv, GATConv) has
    no ``forward`` scripted alone: called from a typed one, it does."""

    def __init__(self, conv: Any) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.conv(x, edge_index)  # type: ignore[no-any-return]


def _scriptable(layer: Any) -> Any:
    """The layer as PyG scripts it: PyG 2.4 through ``.jittable()``."""
    return Typed(layer.jittable()) if PYG.startswith("2.4") else layer


@pytest.mark.only_on(*WITH_GENERATOR)
def test_every_layer_that_scripts_loads_from_its_archive_without_pyg(saved: Any) -> None:
    found, _, shim = saved
    # On 2.5.3 47 layers script; a few fewer on releases whose own layer code
    # changed (2.8.1's GATConv and GATv2Conv), and 2.4.0 has no generator.
    assert len(found.scripted) >= 40
    for name in found.scripted:
        if name in OUT_OF_REACH:
            continue
        assert name in shim, (name, found.shim_failed.get(name))
        status, detail, diff = shim[name]
        assert status == "ok", (name, detail)
        assert diff is not None and diff <= 1e-6, name


@pytest.mark.only_on(*WITH_GENERATOR)
def test_where_torch_jit_save_fails_the_repair_is_what_loads(saved: Any) -> None:
    found, plain, shim = saved
    failing = {name for name, (status, _, _) in plain.items() if status != "ok"}
    failing |= set(found.plain_failed)
    if PYG == "2.4.0":
        return  # nothing of the generator era scripts enough to tell
    # GCNConv fails to load, ChebConv to save, on every release from 2.5 on.
    assert {"GCNConv", "ChebConv"} <= failing
    for name in sorted(failing - set(OUT_OF_REACH)):
        assert shim[name][0] == "ok", name
    for name, (status, detail, _) in plain.items():
        if status != "ok":
            assert TYPE_MISMATCH in detail, (name, detail)
    for name, error in found.plain_failed.items():
        assert UNDEFINED in error, name


@pytest.mark.only_on(*WITH_GENERATOR)
def test_an_archive_that_loads_as_it_is_is_written_as_it_is(saved: Any) -> None:
    found, plain, _ = saved
    loading = [name for name, (status, _, _) in plain.items() if status == "ok"]
    assert loading
    assert {name: found.same_bytes[name] for name in loading} == dict.fromkeys(loading, True)


@pytest.mark.only_on(*WITH_GENERATOR)
def test_the_scripted_module_prints_as_before_the_call(saved: Any) -> None:
    found, _, _ = saved
    assert found.changed == []


@pytest.mark.only_on(*WITH_GENERATOR)
def test_a_cause_out_of_reach_is_named_and_nothing_is_written(saved: Any) -> None:
    found, _, _ = saved
    for name, where in OUT_OF_REACH.items():
        if name not in found.scripted:
            continue  # RGATConv does not script on some releases at all
        error = found.shim_failed[name]
        assert isinstance(error, pyg_jit_shim.UnsaveableError)
        assert where in str(error) and "annotat" in str(error)
        assert not (found.shim / f"{name}.pt").exists()
    assert sorted(found.shim_failed) == sorted(set(OUT_OF_REACH) & set(found.scripted))
    assert [path.name for path in found.shim.iterdir() if path.name.startswith(".")] == []


# -- models ----------------------------------------------------------------------

LOAD_MODELS = """
import json, sys
sys.modules["torch_geometric"] = sys.modules["pyg_jit_shim"] = None  # not importable
import torch
found = {}
for path in sys.argv[1:]:
    extra = {"io.pt": ""}
    model = torch.jit.load(path, _extra_files=extra)
    data = torch.load(__import__("io").BytesIO(extra["io.pt"]))
    with torch.no_grad():
        found[path] = float((model(*data["args"]) - data["expected"]).abs().max())
print(json.dumps(found))
"""


@pytest.mark.only_on(*WITH_GENERATOR)
def test_models_round_trip(tmp_path: Path, monkeypatch: Any) -> None:
    # A top-level module, as a service's own: PyG 2.6+ imports a Sequential's
    # caller module by its file's base name (sequential.py, _caller_module).
    monkeypatch.syspath_prepend(str(REPO / "tests" / "layers"))
    models = importlib.import_module("archive_models")
    x, edge_index = graph()
    paths = []
    for model_class in (models.TwoLayers, models.WithSequential):
        name = model_class.__name__
        torch.manual_seed(0)
        model = model_class().eval()
        with torch.no_grad():
            expected = model(x, edge_index)
        scripted = torch.jit.script(model)
        path = tmp_path / f"{name}.pt"
        pyg_jit_shim.save(scripted, path, _extra_files={"io.pt": _data((x, edge_index),
                                                                         expected)})
        paths.append(str(path))
    found = last_json(run_python(LOAD_MODELS, args=paths))
    assert all(diff <= 1e-6 for diff in found.values()), found


@pytest.mark.only_on("2.4.0")
def test_jittable_layers_of_pyg_2_4_round_trip(tmp_path: Path) -> None:
    # Before the generator, a layer scripts through its `.jittable()` copy.
    from torch_geometric.nn import GATConv, GCNConv, SAGEConv

    class TwoLayers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gcn = GCNConv(8, 8).jittable()
            self.sage = SAGEConv(8, 4).jittable()

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            return self.sage(self.gcn(x, edge_index).relu(), edge_index)

    x, edge_index = graph()
    paths = []
    for name, make in (("GCNConv", lambda: _scriptable(GCNConv(8, 4))),
                       ("SAGEConv", lambda: _scriptable(SAGEConv(8, 4))),
                       ("GATConv", lambda: _scriptable(GATConv(8, 4))),
                       ("TwoLayers", TwoLayers)):
        torch.manual_seed(0)
        module = make().eval()
        with torch.no_grad():
            expected = module(x, edge_index)
        path = tmp_path / f"{name}.pt"
        pyg_jit_shim.save(torch.jit.script(module), path,
                          _extra_files={"io.pt": _data((x, edge_index), expected)})
        paths.append(str(path))
    found = last_json(run_python(LOAD_MODELS, args=paths))
    assert sorted(found) == sorted(paths)
    assert all(diff <= 1e-6 for diff in found.values()), found


# -- what save refuses ---------------------------------------------------------------

def _scripted_gcn() -> Any:
    from torch_geometric.nn import GCNConv

    return torch.jit.script(_scriptable(GCNConv(8, 4)).eval())


def test_an_eager_module_is_refused_with_what_to_do(tmp_path: Path) -> None:
    from torch_geometric.nn import GCNConv

    with pytest.raises(pyg_jit_shim.ArchiveError, match=r"torch\.jit\.script\(model\) first"):
        pyg_jit_shim.save(GCNConv(8, 4), tmp_path / "eager.pt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where, cause", [
    ("missing/model.pt", "no directory"),
    (".", "is a directory"),
])
def test_a_path_that_cannot_be_written_says_why_and_leaves_nothing(
        tmp_path: Path, where: str, cause: str) -> None:
    with pytest.raises(pyg_jit_shim.ArchiveError, match=cause):
        pyg_jit_shim.save(_scripted_gcn(), tmp_path / where)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_place_says_why() -> None:
    # /sys refuses new files even to root, which a chmod'ed directory does not.
    with pytest.raises(pyg_jit_shim.ArchiveError, match=r"cannot write /sys/model\.pt: "
                                                        r"Permission denied"):
        pyg_jit_shim.save(_scripted_gcn(), "/sys/model.pt")


class UntypedScale(torch.nn.Module):
    """RGATConv's cause out of reach, in a module that scripts on every release
    (RGATConv itself does not on 2.4.0 and 2.8.1): an untyped ``=None``."""

    def forward(self, x: torch.Tensor, scale=None) -> torch.Tensor:  # type: ignore
        return x if scale is None else x * scale


def test_a_failed_save_keeps_the_archive_that_was_there(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    pyg_jit_shim.save(_scripted_gcn(), path)
    before = path.read_bytes()
    os.chmod(path, 0o640)
    with pytest.raises(pyg_jit_shim.UnsaveableError, match=r"UntypedScale\.forward\(scale=None\)"):
        pyg_jit_shim.save(torch.jit.script(UntypedScale()), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    pyg_jit_shim.save(_scripted_gcn(), path)  # replaced: it keeps its mode
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_a_file_object_and_extra_files(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pyg_jit_shim.save(_scripted_gcn(), buffer, _extra_files={"note.txt": "shipped"})
    extra = {"note.txt": ""}
    loaded = torch.jit.load(io.BytesIO(buffer.getvalue()), _extra_files=extra)
    assert extra["note.txt"] == b"shipped"
    x, edge_index = graph()
    assert loaded(x, edge_index).shape == (x.shape[0], 4)
    with pytest.raises(pyg_jit_shim.ArchiveError, match="a path or a file object"):
        pyg_jit_shim.save(_scripted_gcn(), 42)  # type: ignore[arg-type]


# A torch whose graph API lacks what the repair needs (a future release that
# drops part of torch._C): one clear error, and a plain save only when asked.
WITHOUT_INSERT_GRAPH = """
import json, logging, sys
import pyg_jit_shim, torch
from torch_geometric.nn import GCNConv
del torch._C.Graph.insertGraph
records = []
logging.getLogger("pyg_jit_shim").addHandler(type("H", (logging.Handler,), {
    "emit": lambda self, record: records.append(record.getMessage())})())
scripted = torch.jit.script(GCNConv(8, 4))
try:
    pyg_jit_shim.save(scripted, sys.argv[1])
    refused = None
except pyg_jit_shim.ArchiveError as error:
    refused = str(error)
import os
written = os.path.exists(sys.argv[1])
pyg_jit_shim.save(scripted, sys.argv[1], plain_fallback=True)
print(json.dumps([refused, written, os.path.exists(sys.argv[1]), records]))
"""


@pytest.mark.only_on(*WITH_GENERATOR)  # 2.4.0's GCNConv saves as it is: nothing to repair
def test_a_torch_without_the_graph_api_is_named(tmp_path: Path) -> None:
    refused, written, fallen_back, logged = last_json(run_python(
        WITHOUT_INSERT_GRAPH, args=[str(tmp_path / "model.pt")]))
    assert "torch._C.Graph.insertGraph" in refused and "plain_fallback=True" in refused
    assert TYPE_MISMATCH in refused  # why the plain archive is no good
    assert not written and fallen_back
    assert len(logged) == 1 and "plain_fallback" in logged[0]


def test_save_is_loaded_only_when_called() -> None:
    result = run_python("""
import json, sys
import pyg_jit_shim, torch_geometric
before = sorted(m for m in ("pyg_jit_shim.saving", "pyg_jit_shim.graph_repair")
                if m in sys.modules)
print(json.dumps([before, pyg_jit_shim.status().verdict]))
""")
    before, verdict = last_json(result)
    assert before == []
    assert verdict == ("patched" if IS_AFFECTED else "untouched")
