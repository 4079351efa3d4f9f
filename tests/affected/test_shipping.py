"""docs/shipping.md's table: the column for this release with the shim, as
``benchmarks/shipping.py`` measures it: saved in one fresh interpreter, loaded
in another."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, TIMEOUT, environment


@pytest.mark.only_on("2.5.2")  # the table's column
def test_shipping_table_column_with_the_shim(tmp_path: Path) -> None:
    results = tmp_path / "shipping.json"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "shipping.py"), "--formats", "a,b,c,d,e",
         "--python", f"shim={sys.executable}", "--json", str(results)],
        check=True, env=environment(), cwd=str(REPO), capture_output=True, text=True,
        timeout=TIMEOUT,
    )
    (column,) = json.loads(results.read_text())
    assert column["shim"] == "patched"
    cells = column["cells"]
    # Rebuilt from code, or restored by torch.load, a Sequential inside too:
    # runs, scripts, equals.
    assert cells["a"] == "ok"
    assert cells["b"] == "ok"
    assert cells["c"] == "ok"
    # A scripted GCNConv or GATConv saved with torch.jit.save does not load
    # (#8867, TorchScript and the layers' own code; on 2.5.3 and 2.6 too).
    assert cells["d"].startswith("jit.load: RuntimeError: Type mismatch: edge_index"), cells["d"]
    # pyg_jit_shim.save's archive loads, and runs equal, in a process that
    # imports neither PyG nor the shim.
    assert cells["e"] == "ok"
