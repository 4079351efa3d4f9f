"""The command line: check, show, run, --version, and errors, exit statuses and
closed pipes as with a standard command-line tool.

Exit statuses: 0 fine, 1 a finding (check: a layer 2.5.3 scripts does not
script here), 2 trouble (usage, nothing to check), 126/127 `run` cannot start
the program / finds none, 141 the reader of standard output went away.

`check` self-tests every layer class: it runs once per release here, and once
more without the shim where that differs (tests/affected/test_check_off.py).
"""

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import pyg_jit_shim
from tests.cli import checked, cli, into_head
from tests.helpers import IS_AFFECTED, PYG, REPO, TIMEOUT, environment, last_json, run_python


def torch_version() -> str:
    import torch

    return str(torch.__version__)

CONSOLE = str(Path(sys.executable).with_name("pyg-jit-shim"))
CLOSED_PIPE = 141


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _progress(stderr: str, stage: str) -> List[Tuple[int, int, str]]:
    """The progress line's states for ``stage``: (done, total, layer)."""
    found = []
    for state in stderr.split("\r"):
        if state.startswith(stage + " "):
            count, _, name = state[len(stage) + 1:].rstrip().partition(": ")
            done, _, total = count.partition("/")
            found.append((int(done), int(total), name))
    return found


def test_check_json(tmp_path: Path) -> None:
    """``check --json`` as a service runs it, the shim on; standard error is a
    terminal, as where a person runs it."""
    result, left = checked(tmp_path, "--json", terminal=True)
    report = json.loads(result.stdout)
    # One line on the terminal, rewritten for each layer, then for each layer
    # loaded in a fresh interpreter, then blanked.
    names = [row["name"] for row in report["layers"]]
    layers = _progress(result.stderr, "layer")
    assert [(done, total) for done, total, _ in layers] == [
        (done, len(names)) for done in range(1, len(names) + 1)]
    assert sorted(name for _, _, name in layers) == sorted(names)
    loaded = [row["name"] for row in report["layers"] if row["load_then_script"] is not None]
    reloaded = _progress(result.stderr, "torch.load, then script")
    assert [(done, total) for done, total, _ in reloaded] == [
        (done, len(loaded)) for done in range(1, len(loaded) + 1)]
    assert sorted(name for _, _, name in reloaded) == sorted(loaded)
    assert result.stderr.endswith("\r" + " " * 79 + "\r")
    assert report["torch_geometric"] == PYG
    assert report["shim"]["verdict"] == ("patched" if IS_AFFECTED else "untouched")
    assert report["needed"] == IS_AFFECTED
    assert {"GCNConv", "SAGEConv", "GATConv"} <= set(names)
    assert names == sorted(names, key=str.casefold)
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
    # Both archives of every layer that scripts, each loaded in a fresh
    # interpreter with torch alone: pyg_jit_shim.save's loads for all but a
    # layer whose own code is out of reach, on every release.
    archives = {row["name"]: row["archives"] for row in report["layers"]
                if row["archives"] is not None}
    assert sorted(archives) == sorted(after_load)
    assert report["archive_failures"] == []
    out_of_reach = sorted(name for name, kinds in archives.items()
                          if kinds["pyg_jit_shim.save"]["status"] == "out-of-reach")
    assert report["archive_out_of_reach"] == out_of_reach
    assert set(out_of_reach) <= {"RGATConv"}
    for name, kinds in archives.items():
        if name not in out_of_reach:
            assert kinds["pyg_jit_shim.save"]["status"] == "ok", (name, kinds)
            assert kinds["pyg_jit_shim.save"]["max_abs_diff"] <= 1e-6, name
    plain = sorted(name for name, kinds in archives.items()
                   if kinds["torch.jit.save"]["status"] != "ok")
    assert report["plain_archive_failures"] == plain
    if PYG != "2.4.0":  # TorchScript's printer, on every release with these layers
        assert {"GCNConv", "ChebConv"} <= set(plain)
        assert archives["GCNConv"]["pyg_jit_shim.save"]["repaired"]
        assert not archives["SAGEConv"]["pyg_jit_shim.save"]["repaired"]
    # Where PyG generates (2.5.3 and later): one file per layer class in the
    # temp dir, 60 on 2.5.3, unless check keeps them elsewhere.
    assert left == []


def test_a_service_never_loads_the_command_line() -> None:
    result = run_python("""
        import json, sys
        import pyg_jit_shim
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("pyg_jit_shim."))))
    """)
    loaded = last_json(result)
    assert loaded  # the runtime's own modules
    assert [name for name in loaded if name.startswith("pyg_jit_shim.cli")] == []


def test_version_and_check_without_torch_or_pyg(tmp_path: Path) -> None:
    # The shim's own files only: no site-packages, so neither torch nor PyG.
    shutil.copytree(Path(pyg_jit_shim.__file__).parent, tmp_path / "pyg_jit_shim")
    env = environment(PYTHONPATH=str(tmp_path))

    def bare(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-S", "-m", "pyg_jit_shim", *args],
                              cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)

    version = bare("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip().endswith(
        "torch not installed, torch_geometric not installed")
    check = bare("check", "--json")
    assert check.returncode == 2
    assert "cannot run the self-test: torch not installed" in _one_line_error(check)


def _to_closed_pipe(*args: str, buffered: bool = False) -> subprocess.CompletedProcess:
    """Runs the command with a reader that went away before it wrote anything."""
    env = environment(PYTHONUNBUFFERED=None if buffered else "1")
    process = subprocess.Popen([sys.executable, "-m", "pyg_jit_shim", *args], cwd=str(REPO),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, "", stderr)


def test_check_piped_into_head_and_version() -> None:
    # `pyg-jit-shim check | head -n1`: the versions come at once, and the
    # self-test stops when head has gone.
    first, returncode, stderr = into_head([CONSOLE, "check"], REPO, environment())
    assert returncode == CLOSED_PIPE, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
    assert first.startswith(f"pyg-jit-shim {pyg_jit_shim.__version__}: Python ")
    assert first.rstrip("\n").endswith(f", torch_geometric {PYG}")
    # --version prints the versions as check does.
    version = cli("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout == first


def test_check_json_begins_before_the_self_test() -> None:
    # `pyg-jit-shim check --json | head -5`: the versions come while the
    # self-test has yet to run, and it stops when head has gone.
    check = subprocess.Popen([CONSOLE, "check", "--json"], cwd=str(REPO), env=environment(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert check.stdout is not None
    head = [check.stdout.readline() for _ in range(5)]
    running = check.poll() is None
    check.stdout.close()
    _, stderr = check.communicate(timeout=TIMEOUT)
    assert running and check.returncode == CLOSED_PIPE, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
    assert head[0] == "{\n"
    assert json.loads("{" + "".join(head[1:]).rstrip().rstrip(",") + "}") == {
        "python": platform.python_version(), "torch": torch_version(),
        "torch_geometric": PYG, "shim_version": pyg_jit_shim.__version__}


@pytest.mark.parametrize("args", [("check", "--json"), ("show", "torch_geometric.nn:GCNConv")])
def test_closed_pipe_exits_141_without_traceback(args: Tuple[str, ...]) -> None:
    # check --json: 1 would mean "a layer regressed". show writes into a
    # buffer, which fails only when flushed at the end.
    result = _to_closed_pipe(*args, buffered=True)
    if args[0] == "show" and PYG == "2.4.0":  # nothing to show, nothing written
        assert result.returncode == 2 and "predates 2.5.0" in result.stderr
        return
    assert result.returncode == CLOSED_PIPE, result.stderr
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr


def test_show_prints_the_generated_source() -> None:
    result = cli("show", "torch_geometric.nn:GATv2Conv")
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


USER_LAYER = """
import torch
from torch_geometric.nn import MessagePassing


class WeightedSum(MessagePassing):
    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.propagate(edge_index, x=x)
"""


def test_show_finds_the_users_module_in_the_working_directory(tmp_path: Path) -> None:
    # `pyg-jit-shim show model:WeightedSum` beside model.py, as `python -m` finds it.
    (tmp_path / "model.py").write_text(USER_LAYER)
    env = environment()  # the checkout's tests/ on the path, model.py only in the cwd
    outputs = []
    for command in ([CONSOLE], [sys.executable, "-m", "pyg_jit_shim"]):
        result = subprocess.run([*command, "show", "model:WeightedSum"], cwd=str(tmp_path),
                                env=env, capture_output=True, text=True, timeout=TIMEOUT,
                                check=False)
        if PYG == "2.4.0":  # found, and nothing generated to show
            assert "predates 2.5.0" in _one_line_error(result)
        else:
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("# propagate() of model.WeightedSum, generated by ")
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    missing = subprocess.run([CONSOLE, "show", "modle:WeightedSum"], cwd=str(tmp_path),
                             env=env, capture_output=True, text=True, timeout=TIMEOUT,
                             check=False)
    assert missing.returncode == 2
    assert _one_line_error(missing) == (
        f"pyg-jit-shim: cannot import 'modle': no module 'modle' in the working directory "
        f"{tmp_path} or on the Python path")


def test_errors_are_one_line_without_traceback() -> None:
    cases: List[List[str]] = [
        ["frobnicate"],
        ["show", "torch_geometric.nn"],
        ["show", "no_such_module_xyz:Conv"],
        ["show", "torch_geometric.nn:NoSuchConv"],
        ["show", "torch.nn:Linear"],
        ["run", "--"],
        [],
    ]
    results = [cli(*args) for args in cases]
    messages = [_one_line_error(result) for result in results]
    assert "invalid choice: 'frobnicate'" in messages[0]
    assert "expected MODULE:CLASS" in messages[1]
    assert "cannot import 'no_such_module_xyz'" in messages[2]
    assert "has no 'NoSuchConv'" in messages[3]
    assert "torch.nn:Linear is not a torch_geometric MessagePassing layer" in messages[4]
    assert "run needs a command after --" in messages[5]
    assert "a command is required" in messages[6]
    assert [result.returncode for result in results] == [2] * len(cases)


def test_run_exit_status_as_a_shell_gives_it(tmp_path: Path) -> None:
    not_executable = tmp_path / "serve.sh"
    not_executable.write_text("#!/bin/sh\nexit 0\n")
    statuses: Dict[str, Any] = {}
    for name, command in (("not found", "no-such-program-xyz"),
                          ("not executable", str(not_executable)),
                          ("a directory", str(tmp_path))):
        result = cli("run", "--", command)
        assert f"cannot run {command!r}" in _one_line_error(result)
        statuses[name] = result.returncode
    assert statuses == {"not found": 127, "not executable": 126, "a directory": 126}


def test_run_leaves_sigpipe_to_the_program() -> None:
    # Python ignores SIGPIPE and an exec'd program would inherit that: `yes`
    # would then complain of a broken pipe instead of ending quietly.
    result = cli("run", "--", "sh", "-c", "yes | head -n1")
    assert (result.returncode, result.stdout, result.stderr) == (0, "y\n", "")


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
    result = cli("run", "--", sys.executable, "-c",
                  "import sys; sys.exit(3 if 'pyg_jit_shim' in sys.modules else 4)")
    assert result.returncode == 3, result.stderr


def test_show_and_run_help_say_what_they_do_and_their_exit_statuses() -> None:
    show = cli("show", "--help")
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith("usage: pyg-jit-shim show [-h] MODULE:CLASS\n")
    text = " ".join(show.stdout.split())
    assert ("Print the source of the propagate() and edge_updater() generated for a "
            "MessagePassing layer class") in text
    assert "the working directory first on sys.path" in text
    assert "examples: pyg-jit-shim show torch_geometric.nn:GATv2Conv" in text
    assert "exit status: 0 printed 1 nothing generated for that class" in text
    assert "2 usage: MODULE:CLASS not found" in text
    assert "141 standard output was closed early" in text

    run = cli("run", "--help")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: pyg-jit-shim run -- CMD [ARGS...]\n")
    text = " ".join(run.stdout.split())
    assert "Run CMD with the shim active from its first line" in text
    assert "example: pyg-jit-shim run -- python serve.py" in text
    # The one way a program started by run goes without the shim, unsaid.
    assert ("python -E, -I and -S skip PYTHONPATH or sitecustomize: run -- python -E "
            "serve.py, and any child interpreter started so, run without the shim, "
            "silently.") in text
    assert "exit status: the program's own" in text
    assert "126 the program cannot be executed" in text
    assert "127 the program is not found" in text
    # After --, --help is the program's.
    passed = cli("run", "--", sys.executable, "-c",
                 "import sys; print(sys.argv[1:])", "--help")
    assert (passed.returncode, passed.stdout) == (0, "['--help']\n"), passed.stderr
