"""``pyg-jit-shim check`` without the shim (``PYG_JIT_SHIM=off``) on the
releases where that changes anything: PyG's own generator runs, and writes."""

from pathlib import Path

import pyg_jit_shim
from tests.cli import checked
from tests.helpers import PYG


def test_check_without_the_shim(tmp_path: Path) -> None:
    result, left = checked(tmp_path, PYG_JIT_SHIM="off")
    assert "Traceback" not in result.stderr
    # Standard error is not a terminal here: no progress line.
    assert "\r" not in result.stderr and "layer 1/" not in result.stderr
    # PyG alone leaves one file per layer class: 2.5.1 and 2.5.2 in the temp
    # dir, 2.5.0 under ~/.cache/pyg.
    assert left == []
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"pyg-jit-shim {pyg_jit_shim.__version__}: Python ")
    assert lines[0].endswith(f", torch_geometric {PYG}")
    assert lines[1].startswith("shim: disabled (off) - ")
    scripted_at = next(i for i, line in enumerate(lines) if line.startswith("scripted, "))
    others_at = next(i for i, line in enumerate(lines) if line.startswith("not scripted ("))
    assert 1 < scripted_at < others_at
    scripted = " ".join(lines[scripted_at + 1:others_at]).replace(",", " ").split()
    assert scripted == sorted(scripted, key=str.casefold)
    block = lines[others_at + 1:]
    block = block[:block.index("")] if "" in block else block  # the next section
    others = [line.split()[1] for line in block]
    assert "GravNetConv" in others  # needs torch-cluster, which no session installs
    assert others == sorted(others, key=str.casefold)
    verdict = next(line for line in lines if line.startswith(("FAIL:", "OK:")))
    failed = any(line.startswith("FAIL:") for line in lines)
    assert result.returncode == (1 if failed else 0)
    # Without the shim 2.5.2 scripts almost nothing: exit status 1, and why.
    if PYG == "2.5.2":
        assert verdict.startswith("FAIL: scripted on PyG 2.5.3 but not here: ")
        assert "GCNConv" not in scripted and "GCNConv" in verdict
