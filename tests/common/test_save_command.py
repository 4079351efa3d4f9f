"""``pyg-jit-shim save --model MODEL --out ARCHIVE``: the deployment step.

The archive it writes loads where only torch is installed and computes what
the eager model computes; where that cannot be, it says why, exits 1 and
leaves nothing at ARCHIVE.
"""

import json
import subprocess
from pathlib import Path

import pytest
import torch

from tests.helpers import PYG, TIMEOUT, last_json, run_python
from tests.model_cli import CONSOLE, Service, one_line_error, to_closed_pipe

pytestmark = pytest.mark.only_on("2.5.2", "2.8.1")  # a repaired and an untouched release

LOAD = """
import json, sys
sys.modules["torch_geometric"] = sys.modules["pyg_jit_shim"] = None  # not importable
import torch
model = torch.jit.load(sys.argv[1])
x, edge_index = torch.load(sys.argv[2])
with torch.no_grad():
    print(json.dumps(model(x, edge_index).tolist()))
"""


def _save(service: Service, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CONSOLE, "save", *args], cwd=str(service.work), env=service.env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def test_the_archive_loads_with_torch_alone_and_equals_eager(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.save()
    result = _save(service, "--model", "service_model:build", "--out", "model.ts",
                   "--inputs", "inputs.pt", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["finding"] is None and report["torch_geometric"] == PYG
    # GCNConv inside: torch.jit.save's own archive would not load.
    assert report["saved"]["repaired"] and report["saved"]["casts"] > 0
    assert report["verified"]["status"] == "ok"
    assert report["verified"]["max_abs_diff"] <= 1e-6
    loaded = last_json(run_python(LOAD, args=[str(service.work / "model.ts"),
                                              str(service.work / "inputs.pt")], cwd=service.work))
    # Where PyG itself generates (2.8.1), its files go to a temp dir of their own.
    (tmp_path / "eager-tmp").mkdir()
    run_python("import pyg_jit_shim, torch, service_model\n"
               "model = service_model.build().eval()\n"
               "x, edge_index = torch.load('inputs.pt')\n"
               "torch.save(model(x, edge_index).detach(), 'expected.pt')\n",
               env=dict(service.env, TMPDIR=str(tmp_path / "eager-tmp")), cwd=service.work)
    expected = torch.load(service.work / "expected.pt")
    assert torch.allclose(torch.tensor(loaded), expected, atol=1e-6)
    text = _save(service, "--model", "service_model:build", "--out", "again.ts")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1] == "OK: again.ts written"
    assert "torch.jit.load in a fresh interpreter with torch alone: loaded" in text.stdout
    service.own += ["model.ts", "again.ts", "expected.pt"]
    assert service.left() == []


def test_a_cause_out_of_reach_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    service = Service(tmp_path)
    result = _save(service, "--model", "service_model:build_unsavable", "--out", "model.ts")
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("FAIL: TorchScript cannot write UntypedDefault.forward(scale=None)")
    assert last.endswith("nothing was written to model.ts")
    assert service.left() == []


def test_a_model_that_does_not_script_is_a_finding(tmp_path: Path) -> None:
    service = Service(tmp_path)
    result = _save(service, "--model", "service_model:build_unscriptable", "--out", "model.ts")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL: the model does not script: " in result.stdout
    assert service.left() == []


@pytest.mark.parametrize("args, message", [
    (["--model", "nothing_here.pt", "--out", "m.ts"], "no file 'nothing_here.pt'"),
    (["--model", "service_model:build", "--out", "missing/m.ts"], "no directory"),
    (["--model", "service_model:build", "--out", "."], "is a directory"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list, message: str) -> None:
    service = Service(tmp_path)
    result = _save(service, *args)
    assert result.returncode == 2
    assert message in one_line_error(result)
    assert service.left() == []


def test_a_closed_pipe_ends_it_quietly(tmp_path: Path) -> None:
    service = Service(tmp_path)
    result = to_closed_pipe(["save", "--model", "service_model:build", "--out", "m.ts",
                             "--json"], service.work, service.env)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr
    assert service.left() == []
