"""A process without PyG, or with PyG but without its metadata, keeps running."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pyg_jit_shim

CODE = """
import json, sys
sys.path[:0] = {path!r}
import pyg_jit_shim
{after}
status = pyg_jit_shim.status()
print(json.dumps([status.verdict, status.reason, sorted(m for m in sys.modules
                  if m.split('.')[0] in ('torch', 'torch_geometric', 'wrapt'))]))
"""


def _isolated(tmp_path: Path, *extra: Path,
              after: str = "") -> Tuple[str, str, List[str], str]:
    """Runs with nothing but the standard library and the shim's own files."""
    shim = tmp_path / "shim"
    shutil.copytree(Path(pyg_jit_shim.__file__).parent, shim / "pyg_jit_shim")
    path = [str(shim)] + [str(p) for p in extra]
    result = subprocess.run([sys.executable, "-I", "-S", "-c", CODE.format(path=path, after=after)],
                            capture_output=True, text=True, check=True, timeout=120)
    verdict, reason, imported = json.loads(result.stdout.strip().splitlines()[-1])
    return verdict, reason, imported, result.stderr


def test_without_pyg(tmp_path: Path) -> None:
    verdict, reason, imported, stderr = _isolated(tmp_path)
    assert verdict == "absent"
    assert reason == "torch_geometric is not installed"
    assert imported == []
    assert stderr == ""


def test_pyg_without_metadata(tmp_path: Path) -> None:
    # A source checkout put on sys.path by hand: the package, no dist-info.
    # Nothing can be told at `import pyg_jit_shim`, nothing is said yet.
    checkout = tmp_path / "checkout"
    (checkout / "torch_geometric").mkdir(parents=True)
    (checkout / "torch_geometric" / "__init__.py").write_text("__version__ = '2.5.2'\n")
    verdict, reason, imported, stderr = _isolated(tmp_path, checkout)
    assert verdict == "unknown"
    assert "has no package metadata" in reason and "decided when torch_geometric" in reason
    assert imported == []
    assert stderr == ""


def test_pyg_without_metadata_decided_by_the_imported_code(tmp_path: Path) -> None:
    # Its __version__ names an affected release; this checkout lacks the
    # modules a repair needs, so the repair fails, loudly, once, and the
    # process keeps running.
    checkout = tmp_path / "checkout"
    (checkout / "torch_geometric").mkdir(parents=True)
    (checkout / "torch_geometric" / "__init__.py").write_text("__version__ = '2.5.2'\n")
    verdict, reason, imported, stderr = _isolated(tmp_path, checkout,
                                                  after="import torch_geometric")
    assert verdict == "failed"
    assert "ModuleNotFoundError" in reason
    assert imported == ["torch_geometric"]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert "could not patch torch_geometric 2.5.2: ModuleNotFoundError" in lines[0]
