"""The fixes beyond 2.5.3 stay where the shim is active.

A keyword-first ``propagate()`` call, an untyped optional edge argument left
out, and a layer restored by ``torch.load`` in a process that never built
its class: each behaves exactly as without the shim on every untouched
release. They fail on 2.5.3 (the shim repairs them on 2.5.0-2.5.2 only: a
2.5.3 user needs PyG 2.6) and work on 2.6.1.
"""

from pathlib import Path

import torch

from tests.helpers import PYG, environment, last_json, run_python
from tests.layers import tutorial
from tests.probes import BEYOND_2_5_3, FAILS_WITHOUT_SHIM


def test_beyond_2_5_3_as_without_the_shim(tmp_path: Path) -> None:
    torch.manual_seed(0)
    files = [str(tmp_path / "edge_conv.pt"), str(tmp_path / "gcn.pt")]
    torch.save(tutorial.TutorialEdgeConv(8, 4), files[0])
    torch.save(tutorial.TutorialGCN(8, 4), files[1])
    with_shim = last_json(run_python(BEYOND_2_5_3, args=files))
    without = last_json(run_python(BEYOND_2_5_3, args=files,
                                   env=environment(PYG_JIT_SHIM="off")))
    assert with_shim.pop("shim") == "untouched"
    assert without.pop("shim") == "disabled"
    assert with_shim == without
    if PYG == "2.5.3":
        assert with_shim == FAILS_WITHOUT_SHIM
    if PYG == "2.6.1":
        assert set(with_shim.values()) == {"ok"}


SEQUENTIAL_ELSEWHERE = """
import json, sys, torch
import pyg_jit_shim
try:
    model = torch.load(sys.argv[1], weights_only=False)
    outcome = len(model)
except Exception as error:  # whatever a release raises, with or without the shim
    outcome = type(error).__name__
print(json.dumps([outcome, pyg_jit_shim.status().verdict]))
"""


def test_a_sequential_saved_elsewhere_as_without_the_shim(tmp_path: Path) -> None:
    # Saved here, where the shim is imported and leaves PyG alone: on 2.5.3
    # the pickle names a module of this process only (#9369; PyG 2.6 fixes
    # it) and fails elsewhere as without the shim, with PyG's own error.
    from torch_geometric.nn import Sequential

    path = str(tmp_path / "sequential.pt")
    torch.save(Sequential("x", [(torch.nn.Linear(2, 2), "x -> x")]), path)
    outcome, verdict = last_json(run_python(SEQUENTIAL_ELSEWHERE, args=[path]))
    assert verdict == "untouched"
    if PYG == "2.5.3":
        assert outcome == "ModuleNotFoundError"
    if PYG == "2.6.1":
        assert outcome == 1
