"""The command line: check, show, run, and errors a person can act on."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from tests.helpers import IS_AFFECTED, PYG, REPO, TIMEOUT, environment

CONSOLE = str(Path(sys.executable).with_name("pyg-jit-shim"))


def _cli(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyg_jit_shim", *args], cwd=str(REPO),
                          env=env or environment(), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_check_json() -> None:
    result = _cli("check", "--json")
    report = json.loads(result.stdout)
    assert report["torch_geometric"] == PYG
    assert report["shim"]["verdict"] == ("patched" if IS_AFFECTED else "untouched")
    assert report["needed"] == IS_AFFECTED
    names = {row["name"] for row in report["layers"]}
    assert {"GCNConv", "SAGEConv", "GATConv"} <= names
    gcn = next(row for row in report["layers"] if row["name"] == "GCNConv")
    assert gcn["on_2_5_3"] == "scripted"
    # The exit status says whether everything 2.5.3 scripts scripts here, and,
    # where the shim repairs it, after torch.load in a fresh interpreter too.
    assert result.returncode == (0 if report["ok"] else 1)
    after_load = {row["name"]: row["load_then_script"] for row in report["layers"]
                  if row["status"] == "scripted"}
    assert [row for row in report["layers"]
            if row["status"] != "scripted" and row["load_then_script"] is not None] == []
    failures = sorted(name for name, outcome in after_load.items() if outcome["status"] != "ok")
    assert report["load_then_script_failures"] == failures
    assert report["load_then_script_repaired"] == IS_AFFECTED
    assert report["load_then_script_not_run"] is None
    assert report["ok"] == (report["regressions"] == [] and not (IS_AFFECTED and failures))
    if IS_AFFECTED or PYG == "2.5.3":
        assert report["ok"] and gcn["status"] == "scripted"
    if IS_AFFECTED or PYG == "2.6.1":
        assert failures == [] and len(after_load) >= 40
        assert max(outcome["max_abs_diff"] for outcome in after_load.values()) <= 1e-6
    if PYG == "2.5.3":  # reported, not a failure: the shim leaves 2.5.3 alone
        assert failures == sorted(after_load) and gcn["load_then_script"]["status"] == (
            "script-failed")


def test_show_prints_the_generated_source() -> None:
    result = _cli("show", "torch_geometric.nn:GATv2Conv")
    if PYG == "2.4.0":  # before the generator: nothing to show, and it says so
        assert "predates 2.5.0" in _one_line_error(result)
        return
    assert result.returncode == 0, result.stderr
    builder = "pyg_jit_shim" if IS_AFFECTED else "PyG itself"
    headers = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert [h.split("()")[0] for h in headers] == ["# propagate", "# edge_updater"]
    assert all(builder in header for header in headers)
    assert "\ndef propagate(\n    self," in result.stdout
    assert "\ndef edge_updater(\n    self," in result.stdout
    assert "from torch_geometric.nn.conv.gatv2_conv import *" in result.stdout


def test_errors_are_one_line_without_traceback() -> None:
    cases: List[List[str]] = [
        ["frobnicate"],
        ["show", "torch_geometric.nn"],
        ["show", "no_such_module_xyz:Conv"],
        ["show", "torch_geometric.nn:NoSuchConv"],
        ["show", "torch.nn:Linear"],
        ["run", "--"],
        ["run", "--", "no-such-program-xyz"],
        [],
    ]
    messages = [_one_line_error(_cli(*args)) for args in cases]
    assert "invalid choice: 'frobnicate'" in messages[0]
    assert "expected MODULE:CLASS" in messages[1]
    assert "cannot import 'no_such_module_xyz'" in messages[2]
    assert "has no 'NoSuchConv'" in messages[3]
    assert "torch.nn:Linear is not a torch_geometric MessagePassing layer" in messages[4]
    assert "run needs a command after --" in messages[5]
    assert "cannot run 'no-such-program-xyz'" in messages[6]
    assert "a command is required" in messages[7]


PROGRAM = """
import json, multiprocessing, sys


def child(queue):
    import torch_geometric
    queue.put(sys.modules["pyg_jit_shim"].status().verdict if "pyg_jit_shim" in sys.modules
              else None)


if __name__ == "__main__":
    import torch_geometric
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    spawned = queue.get(timeout=300)
    process.join()
    import pyg_jit_shim
    print(json.dumps([pyg_jit_shim.status().verdict, spawned,
                      getattr(sys.modules.get("sitecustomize"), "MARK", None)]))
    sys.exit(7)
"""


def test_run_activates_the_shim_in_an_unmodified_program(tmp_path: Path) -> None:
    program = tmp_path / "app.py"
    program.write_text(PROGRAM)
    # A sitecustomize the service already had must still run.
    own = tmp_path / "own-site"
    own.mkdir()
    (own / "sitecustomize.py").write_text("MARK = 'service sitecustomize ran'\n")
    env = environment()
    env["PYTHONPATH"] = f"{own}:{env['PYTHONPATH']}"
    result = subprocess.run([CONSOLE, "run", "--", sys.executable, str(program)],
                            cwd=str(tmp_path), env=env, capture_output=True, text=True,
                            timeout=TIMEOUT, check=False)
    assert result.returncode == 7, result.stderr  # the program's own exit status
    verdict, spawned, mark = json.loads(result.stdout.strip().splitlines()[-1])
    expected = "patched" if IS_AFFECTED else "untouched"
    assert verdict == expected and spawned == expected
    assert mark == "service sitecustomize ran"


def test_python_m_run_is_the_same_launcher() -> None:
    result = _cli("run", "--", sys.executable, "-c",
                  "import sys; sys.exit(3 if 'pyg_jit_shim' in sys.modules else 4)")
    assert result.returncode == 3, result.stderr
