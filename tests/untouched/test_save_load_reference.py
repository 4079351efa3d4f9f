"""torch.jit.save/torch.jit.load on releases the shim leaves alone.

On 2.5.3 the recorded outcome of every scripted layer ("jit_save_load" in
expected_2_5_3.json, the expectation tests/affected/test_save_load.py holds
the affected releases to) is reproduced. On every other untouched release,
a few layers, one per outcome on 2.5.3, save and load exactly as they do with
PYG_JIT_SHIM=off.
"""

from pathlib import Path
from typing import Dict, Iterable, List, Optional

import torch_geometric  # noqa: F401  (with the shim imported first, by conftest)

from pyg_jit_shim import conformance
from tests.helpers import PYG, environment, last_json, run_python

# On 2.5.3: ok, ok through the typed wrapper, load-failed, save-failed.
SAMPLE = ["SAGEConv", "GATConv", "GCNConv", "ChebConv"]

SAVE_WITHOUT_SHIM = """
import json
from pyg_jit_shim import conformance  # PYG_JIT_SHIM=off: the shim does nothing
saved = {{}}
for name in {names!r}:
    try:
        path = conformance.save_scripted(name, {directory!r})
        saved[name] = None if path is None else str(path)
    except RuntimeError as exc:
        saved[name] = "save-failed"
print(json.dumps(saved))
"""


def _save(names: Iterable[str], directory: Path) -> Dict[str, Optional[str]]:
    saved: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            path = conformance.save_scripted(name, directory)
            saved[name] = None if path is None else str(path)
        except RuntimeError:
            saved[name] = "save-failed"
    return saved


def _outcomes(saved: Dict[str, Optional[str]]) -> Dict[str, List[object]]:
    """name -> [status, max abs diff]; loaded here: torch.jit.load needs only torch."""
    outcomes: Dict[str, List[object]] = {}
    for name, path in saved.items():
        if path is None or path == "save-failed":
            outcomes[name] = [path or "not scripted", None]
        else:
            result = conformance.check_saved(path)
            outcomes[name] = [result.status, result.max_abs_diff]
    return outcomes


def test_save_load_as_recorded_on_2_5_3_and_unchanged_by_the_shim(tmp_path: Path) -> None:
    expected = conformance.load_expected_round_trip()
    if PYG == "2.5.3":
        outcomes = _outcomes(_save(expected, tmp_path))
        assert {name: status for name, (status, _) in outcomes.items()} == expected
        return
    for mode in ("auto", "off"):
        (tmp_path / mode).mkdir()
    with_shim = _outcomes(_save(SAMPLE, tmp_path / "auto"))
    without = last_json(run_python(
        SAVE_WITHOUT_SHIM.format(names=SAMPLE, directory=str(tmp_path / "off")),
        env=environment(PYG_JIT_SHIM="off")))
    assert with_shim == _outcomes(without)
