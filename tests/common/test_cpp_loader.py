"""``pyg_jit_shim.save``'s archives load and compute in C++, with libtorch alone.

A C++ service loads TorchScript with ``torch::jit::load``, without Python: a
Python ``torch.jit.load`` is no proof for it. tests/cpp/load_archive (built
once per module with cmake against the libtorch of the installed torch wheel)
loads each archive, calls ``forward`` on the inputs stored inside it and
compares with the eager output stored beside them. ``torch.jit.save``'s own
archive of GCNConv does not load there either (PyG #8867), which is why the
repair exists.
"""

import importlib
import os
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest
import torch
import torch_geometric  # noqa: F401  (after the shim, as a service imports them)
from torch import Tensor

import pyg_jit_shim
from pyg_jit_shim.cli import conformance
from tests.cpp_loader import EXTRA, build_loader, conformance_data, run_loader, tools_missing
from tests.helpers import REPO, graph

# A repaired release and an untouched one where every case scripts (PyG
# 2.8.1's own GATConv does not script, with or without the shim).
pytestmark = [pytest.mark.only_on("2.5.2", "2.6.1"), pytest.mark.slow]

CASES = ("GCNConv", "GATConv", "SAGEConv", "GINConv", "GraphConv")
TYPE_MISMATCH = "Type mismatch"

Saver = Callable[[Any, Path, Dict[str, bytes]], Any]


def _shim_save(scripted: Any, path: Path, extra: Dict[str, bytes]) -> Any:
    return pyg_jit_shim.save(scripted, path, _extra_files=extra)


def _plain_save(scripted: Any, path: Path, extra: Dict[str, bytes]) -> Any:
    torch.jit.save(scripted, str(path), _extra_files=extra)


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = tools_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"building the C++ loader needs {missing}, missing on this CI runner")
        pytest.skip(f"building the C++ loader needs {missing}, missing here "
                    "(on CI, where CI is set, these tests fail instead)")
    return build_loader(tmp_path_factory.mktemp("cpp_loader"))


def _case_archive(name: str, path: Path, save: Saver) -> conformance.Result:
    """Scripts the conformance case ``name`` as check's table does and, when it
    ends "scripted", writes it with ``save`` and its inputs and eager output."""
    def keep(scripted: Any, args: Tuple[Any, ...], expected: Any) -> None:
        save(scripted, path, {EXTRA: conformance_data(args, expected)})

    return conformance._run(name, keep=keep)


def _script_and_save(module: torch.nn.Module, args: Tuple[Tensor, ...], path: Path) -> None:
    module.eval()
    with torch.no_grad():
        expected = module(*args)
    scripted = torch.jit.script(module)
    _shim_save(scripted, path, {EXTRA: conformance_data(args, expected)})


def _assert_ok(outcome: Dict[str, Any]) -> None:
    assert outcome["status"] == "ok", outcome
    assert outcome["returncode"] == 0, outcome
    assert outcome["max_abs_diff"] is not None and outcome["max_abs_diff"] <= 1e-6, outcome


@pytest.mark.parametrize("name", CASES)
def test_conformance_case_loads_in_cpp(loader: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.pt"
    result = _case_archive(name, path, _shim_save)
    assert result.status == "scripted", result
    _assert_ok(run_loader(loader, path))


def test_gat_without_edge_dim_loads_in_cpp(loader: Path, tmp_path: Path) -> None:
    """torch.jit.save's archive of this one fails to load on every PyG release."""
    from torch_geometric.nn import GATConv

    class Typed(torch.nn.Module):
        # GATConv's forward is overloaded: scripted directly it has no `forward`.
        def __init__(self) -> None:
            super().__init__()
            self.conv = GATConv(8, 4)

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.conv(x, edge_index)

    torch.manual_seed(0)
    path = tmp_path / "GATConv_plain.pt"
    _script_and_save(Typed(), graph(), path)
    _assert_ok(run_loader(loader, path))


@pytest.mark.parametrize("model", ["TwoLayers", "WithSequential"])
def test_whole_model_loads_in_cpp(loader: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    # PyG 2.6+ generates a Sequential's forward importing its caller's module
    # by the file's base name: that module must be importable as such.
    monkeypatch.syspath_prepend(str(REPO / "tests" / "layers"))
    archive_models = importlib.import_module("archive_models")
    torch.manual_seed(0)
    path = tmp_path / f"{model}.pt"
    _script_and_save(getattr(archive_models, model)(), graph(), path)
    _assert_ok(run_loader(loader, path))


def test_plain_torch_jit_save_of_gcn_does_not_load_in_cpp(loader: Path, tmp_path: Path) -> None:
    """PyG #8867: TorchScript's printer writes a two-variable if/else join as an
    unannotated tuple assignment, so a Tensor | SparseTensor variable cannot be
    compiled back; C++ fails exactly as Python's torch.jit.load does."""
    path = tmp_path / "GCNConv_plain.pt"
    result = _case_archive("GCNConv", path, _plain_save)
    assert result.status == "scripted", result
    outcome = run_loader(loader, path)
    assert outcome["status"] == "load-failed", outcome
    assert TYPE_MISMATCH in outcome["detail"], outcome
    assert outcome["returncode"] == 1, outcome
    assert outcome["max_abs_diff"] is None, outcome
