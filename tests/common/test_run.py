"""``pyg-jit-shim run``'s bootstrap in the odd places a service puts it: two
installs (or one reached through a symlink) on PYTHONPATH, ``run`` inside
``run``, and child interpreters in which the shim is not installed."""

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, List

from pyg_jit_shim.cli import _bootstrap
from tests.helpers import REPO, TIMEOUT, environment

BOOTSTRAP = Path(_bootstrap.DIRECTORY)
OWN = "sys.stderr.write('own sitecustomize ran\\n')"
PROBE = "import sys; print('pyg_jit_shim' in sys.modules)"


def _own_site(tmp_path: Path) -> Path:
    """The environment's own sitecustomize, which must still run, once."""
    own = tmp_path / "own-site"
    own.mkdir()
    (own / "sitecustomize.py").write_text(f"import sys\n{OWN}\n")
    return own


def _python(executable: str, path: List[Path], code: str = PROBE, cwd: Path = REPO,
            inherit: bool = True) -> subprocess.CompletedProcess:
    """``path`` ahead of the tests' PYTHONPATH, or (``inherit=False``) alone."""
    env: Dict[str, str] = environment()
    env["PYTHONPATH"] = os.pathsep.join(
        [*(str(p) for p in path), *([env["PYTHONPATH"]] if inherit else [])])
    return subprocess.run([executable, "-c", code], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def test_two_bootstrap_directories_run_the_environments_sitecustomize_once(
        tmp_path: Path) -> None:
    own = _own_site(tmp_path)
    copy = tmp_path / "second-install" / "_bootstrap"
    shutil.copytree(BOOTSTRAP, copy)
    link = tmp_path / "linked-bootstrap"
    link.symlink_to(BOOTSTRAP, target_is_directory=True)
    layouts = {
        "two installs": [BOOTSTRAP, copy],
        "the other install first": [copy, BOOTSTRAP],
        "one install, also through a symlink": [BOOTSTRAP, link],
        "the symlink first": [link, BOOTSTRAP],
        "a relative spelling": [BOOTSTRAP, Path(os.path.relpath(BOOTSTRAP, tmp_path))],
    }
    for layout, path in layouts.items():
        result = _python(sys.executable, [*path, own], cwd=tmp_path)
        assert result.returncode == 0, (layout, result.stderr[-2000:])
        assert result.stdout.split() == ["True"], layout  # the shim is active
        assert result.stderr.splitlines() == ["own sitecustomize ran"], layout


def test_run_inside_run_puts_the_bootstrap_on_pythonpath_once(tmp_path: Path) -> None:
    own = _own_site(tmp_path)
    env = environment()
    env["PYTHONPATH"] = os.pathsep.join([str(own), env["PYTHONPATH"]])
    shim = [sys.executable, "-m", "pyg_jit_shim", "run", "--"]
    report = "import os; print(os.environ['PYTHONPATH'])"
    result = subprocess.run([*shim, *shim, sys.executable, "-c", report], cwd=str(REPO),
                            env=env, capture_output=True, text=True, timeout=TIMEOUT,
                            check=False)
    assert result.returncode == 0, result.stderr
    entries = result.stdout.strip().split(os.pathsep)
    assert entries[0] == str(BOOTSTRAP)
    assert [e for e in entries if e and _bootstrap.holds_bootstrap(e)] == [str(BOOTSTRAP)]
    assert entries[1:] == env["PYTHONPATH"].split(os.pathsep)
    # Each of the three interpreters ran the environment's sitecustomize once.
    assert result.stderr.splitlines() == ["own sitecustomize ran"] * 3


def _bare_python(tmp_path: Path) -> str:
    """An interpreter with the standard library only: neither the shim nor PyG."""
    directory = tmp_path / "bare"
    venv.create(str(directory), with_pip=False, symlinks=os.name != "nt")
    return str(directory / "bin" / "python")


def test_a_child_without_the_shim(tmp_path: Path) -> None:
    own = _own_site(tmp_path)
    bare = _bare_python(tmp_path)
    # A service under `run` starting the system python: not a word, and the
    # environment's own sitecustomize still runs.
    quiet = _python(bare, [BOOTSTRAP, own], code="print('ok')", inherit=False)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (
        0, "ok\n", "own sitecustomize ran\n")
    # Where PyG is importable but the shim is not, PyG runs unrepaired: one line.
    with_pyg = tmp_path / "pyg-only"
    with_pyg.mkdir()
    spec = importlib.util.find_spec("torch_geometric")
    assert spec is not None and spec.submodule_search_locations
    (with_pyg / "torch_geometric").symlink_to(spec.submodule_search_locations[0])
    warned = _python(bare, [BOOTSTRAP, own, with_pyg], code="print('ok')", inherit=False)
    assert warned.returncode == 0 and warned.stdout == "ok\n"
    lines = warned.stderr.splitlines()
    assert lines[1:] == ["own sitecustomize ran"]
    assert lines[0].startswith("pyg_jit_shim: not installed for ")
    assert "torch_geometric runs unrepaired" in lines[0]


def test_a_child_whose_shim_is_broken_says_so_in_one_line(tmp_path: Path) -> None:
    # A damaged install ahead of the good one: the program still starts.
    broken = tmp_path / "damaged"
    (broken / "pyg_jit_shim").mkdir(parents=True)
    (broken / "pyg_jit_shim" / "__init__.py").write_text("raise OSError('truncated file')\n")
    result = _python(sys.executable, [BOOTSTRAP, broken], code="print('ok')")
    assert (result.returncode, result.stdout) == (0, "ok\n")
    assert result.stderr.splitlines() == [
        "pyg_jit_shim: not activated: OSError: truncated file"]
