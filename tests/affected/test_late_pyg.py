"""The decision follows the torch_geometric that is actually imported."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, List, Tuple

from tests.helpers import PYG, REPO, TIMEOUT, environment, last_json, run_python
from tests.probes import SCRIPT_GCN

SITE = sysconfig.get_paths()["purelib"]
INSTALLED = Path(SITE) / "torch_geometric"

REPORT = SCRIPT_GCN + """
import json, pyg_jit_shim
status = pyg_jit_shim.status()
print(json.dumps([before, status.verdict, status.pyg_version, scripted]))
"""


def _shim_warnings(stderr: str) -> List[str]:
    return [line for line in stderr.splitlines() if line.startswith("pyg_jit_shim:")]


def test_pyg_put_on_sys_path_after_the_shim() -> None:
    # -S: no site-packages, as in a zipapp or plugin host that adds its paths
    # later. The shim comes from the checkout: nothing else is on the path.
    env = environment(PYTHONPATH=str(REPO / "shim"))
    code = f"""
import sys, pyg_jit_shim
before = pyg_jit_shim.status().verdict
sys.path.append({SITE!r})
""" + REPORT
    result = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=str(REPO),
                            capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    assert last_json(result) == ["absent", "patched", PYG, True]
    assert _shim_warnings(result.stderr) == []


def _tree(root: Path, metadata: str = "") -> Path:
    """A sys.path entry holding this release's code (a link to it), with
    ``metadata`` as its dist-info if given."""
    root.mkdir()
    (root / "torch_geometric").symlink_to(INSTALLED, target_is_directory=True)
    if metadata:
        _metadata(root, metadata)
    return root


def _metadata(root: Path, version: str) -> Path:
    info = root / f"torch_geometric-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: torch_geometric\nVersion: {version}\n")
    return root


def _run(paths: List[Path], code: str = "import pyg_jit_shim\nbefore = None\n" + REPORT,
         **overrides: str) -> Tuple[Any, List[str], "subprocess.CompletedProcess[str]"]:
    env = environment(**overrides)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env["PYTHONPATH"]])
    result = run_python(code, env=env, check=False)
    assert result.returncode == 0 or overrides.get("PYG_JIT_SHIM") == "strict", result.stderr
    report = last_json(result) if result.returncode == 0 else None
    return report, _shim_warnings(result.stderr), result


def test_a_copy_without_metadata_ahead_of_an_installed_newer_release(tmp_path: Path) -> None:
    # The code of this release shadows "2.5.3", whose metadata comes later on the path.
    report, warnings, _ = _run([_tree(tmp_path / "copy"), _metadata(tmp_path / "meta", "2.5.3")])
    assert report == [None, "patched", PYG, True]
    (warning,) = warnings
    assert "metadata says torch_geometric 2.5.3" in warning and repr(PYG) in warning
    assert str(tmp_path / "copy") in warning  # where the imported code lies


def test_a_tree_with_stale_metadata(tmp_path: Path) -> None:
    report, warnings, _ = _run([_tree(tmp_path / "stale", metadata="2.5.3")])
    assert report == [None, "patched", PYG, True]
    (warning,) = warnings
    assert "2.5.3" in warning and repr(PYG) in warning


def test_strict_refuses_every_import_attempt(tmp_path: Path) -> None:
    code = """
import json, pyg_jit_shim
attempts = []
for _ in range(3):
    try:
        import torch_geometric
        attempts.append("imported")
    except pyg_jit_shim.ShimError as error:
        attempts.append(str(error))
status = pyg_jit_shim.status()
print(json.dumps([attempts, status.verdict, status.reason]))
"""
    report, _, _ = _run([_tree(tmp_path / "stale", metadata="2.5.3")], code,
                        PYG_JIT_SHIM="strict")
    attempts, verdict, reason = report
    assert len(attempts) == 3 and "imported" not in attempts
    assert all("metadata says torch_geometric 2.5.3" in attempt for attempt in attempts)
    assert verdict == "failed" and reason == attempts[-1]


def test_run_with_an_environment_sitecustomize_that_adds_pyg(tmp_path: Path) -> None:
    # An interpreter that does not see PyG until the environment's own
    # sitecustomize (which `run` executes after activating the shim) adds it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=TIMEOUT)
    own = tmp_path / "own-site"
    own.mkdir()
    (own / "sitecustomize.py").write_text(f"import sys\nsys.path.append({SITE!r})\n")
    program = tmp_path / "app.py"
    program.write_text("import sys\nbefore = sys.modules['pyg_jit_shim'].status().verdict\n"
                       + REPORT)
    env = environment()
    env["PYTHONPATH"] = os.pathsep.join([str(own), str(REPO / "shim"), env["PYTHONPATH"]])
    result = subprocess.run(
        [sys.executable, "-m", "pyg_jit_shim", "run", "--", str(venv / "bin" / "python"),
         str(program)], env=env, cwd=str(tmp_path), capture_output=True, text=True,
        timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    # Nothing to patch when the program starts; patched once it imports PyG.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "absent", "patched", PYG, True]
