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
