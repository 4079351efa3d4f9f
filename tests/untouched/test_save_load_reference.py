"""torch.jit.save/torch.jit.load on releases the shim leaves alone.

On 2.5.3 the recorded outcome of every scripted layer ("jit_save_load" in
expected_2_5_3.json, the expectation tests/affected/test_save_load.py holds
the affected releases to) is reproduced. On every other untouched release,
a few layers, one per outcome on 2.5.3, save and load exactly as they do with
PYG_JIT_SHIM=off.
"""

from pathlib import Path
from typing import Dict, List, Optional

import torch_geometric  # noqa: F401  (with the shim imported first, by conftest)

from pyg_jit_shim.cli import conformance
from tests.helpers import PYG, environment, last_json, run_python, save_all

# On 2.5.3: ok, ok through the typed wrapper, load-failed, save-failed.
SAMPLE = ["SAGEConv", "GATConv", "GCNConv", "ChebConv"]

SAVE_WITHOUT_SHIM = """
import json
from pyg_jit_shim.cli import conformance  # PYG_JIT_SHIM=off: the shim does nothing
from tests.helpers import save_all
print(json.dumps(save_all(conformance, {names!r}, {directory!r})))
"""


def _outcomes(saved: Dict[str, Optional[str]], failed: Dict[str, str]
              ) -> Dict[str, List[object]]:
    """name -> [status, max abs diff]; loaded here: torch.jit.load needs only torch."""
    outcomes: Dict[str, List[object]] = {name: ["save-failed", None] for name in failed}
    for name, path in saved.items():
        if path is None:
            outcomes[name] = ["not scripted", None]
        else:
            result = conformance.check_saved(path)
            outcomes[name] = [result.status, result.max_abs_diff]
    return outcomes


def test_save_load_as_recorded_on_2_5_3_and_unchanged_by_the_shim(tmp_path: Path) -> None:
    expected = conformance.load_expected_round_trip()
    if PYG == "2.5.3":
        outcomes = _outcomes(*save_all(conformance, expected, tmp_path))
        assert {name: status for name, (status, _) in outcomes.items()} == expected
        return
    for mode in ("auto", "off"):
        (tmp_path / mode).mkdir()
    with_shim = _outcomes(*save_all(conformance, SAMPLE, tmp_path / "auto"))
    without = last_json(run_python(
        SAVE_WITHOUT_SHIM.format(names=SAMPLE, directory=str(tmp_path / "off")),
        env=environment(PYG_JIT_SHIM="off")))
    assert with_shim == _outcomes(*without)
