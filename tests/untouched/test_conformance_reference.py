"""The conformance table on releases the shim leaves alone.

On 2.5.3 the table must reproduce its own recording (the expectation the
affected releases are held to). On every untouched release, the shim being
imported must not change a single status or output.
"""

import re
from typing import Any, Dict, List

from pyg_jit_shim.cli import conformance
from tests.helpers import PYG, environment, last_json, run_python

EXPECTED: Dict[str, str] = conformance.load_expected()

TABLE_WITHOUT_SHIM = """
import json
from pyg_jit_shim.cli import conformance  # PYG_JIT_SHIM=off: the shim touches nothing
import torch_geometric
print(json.dumps([list(r) for r in conformance.run_all()]))
"""
# In a fresh interpreter too, not in the tests' own: a class whose scripting
# failed once in a process fails differently the next time there ("Can't
# redefine method"), whatever other tests scripted before.
TABLE_WITH_SHIM = "import pyg_jit_shim\n" + TABLE_WITHOUT_SHIM


def _comparable(results: List[Any]) -> List[Any]:
    # Error texts may carry object addresses, which differ between processes.
    return [[name, status, re.sub(r"0x[0-9a-f]+", "0x", detail), diff]
            for name, status, detail, diff in results]


def test_table_with_and_without_the_shim_is_identical() -> None:
    with_shim = _comparable(last_json(run_python(TABLE_WITH_SHIM)))
    without = _comparable(last_json(run_python(
        TABLE_WITHOUT_SHIM, env=environment(PYG_JIT_SHIM="off"))))
    assert with_shim == without
    if PYG == "2.5.3":
        assert {name: status for name, status, _, _ in with_shim} == EXPECTED


def test_table_has_a_case_for_every_2_5_3_layer() -> None:
    assert "no-case" not in EXPECTED.values()
    assert sorted(set(EXPECTED) - set(conformance.case_names())) == []
    if PYG == "2.5.3":
        assert sorted(conformance.layer_names()) == sorted(EXPECTED)
