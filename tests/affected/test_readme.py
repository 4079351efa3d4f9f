"""The README's samples of output are the real output: `check`'s report on
the release the samples show (2.5.2), `status()` on every release the shim
repairs (its sample leaves out what is the release's own)."""

import re
from pathlib import Path
from typing import List

import pytest

from tests.cli import checked
from tests.helpers import PYG, last_json, run_python
from tests.readme import ELISION, mismatch, sample

SHOWN = "2.5.2"  # the release the README's samples were taken on


def _masked(lines: List[str]) -> List[str]:
    # The first line names this machine's Python and torch; the table's last
    # column, the error's text after its type, is torch's own wording.
    masked = [re.sub(r"Python [^,]+, torch [^,]+,", "Python X, torch Y,", lines[0]), *lines[1:]]
    return [re.sub(r"^(  \S+ +\S+ +as on 2\.5\.3 +\w+): .*", r"\1: ...", line)
            for line in masked]


@pytest.mark.only_on("2.5.2")  # the sample's release
def test_readme_check_sample_is_checks_output(tmp_path: Path) -> None:
    result, left = checked(tmp_path)
    assert result.returncode == 0, result.stderr
    assert left == []
    shown = sample("check-sample")
    problem = mismatch(_masked(shown), _masked(result.stdout.rstrip("\n").split("\n")))
    assert problem == "", problem


def test_readme_status_sample_is_status() -> None:
    (line,) = [line for line in sample("status-sample") if line.startswith("Status(")]
    result = run_python("""
        import json, pyg_jit_shim, torch_geometric
        print(json.dumps(repr(pyg_jit_shim.status())))
    """)
    real = last_json(result)
    # "..." in the sample stands for the rest of a list or a text.
    pieces = line.replace(SHOWN, PYG).split(ELISION)
    at = 0
    for piece in pieces:
        found = real.find(piece, at)
        assert found >= 0 and (at > 0 or found == 0), (piece, real)
        at = found + len(piece)
    assert at == len(real), real
