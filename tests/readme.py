"""Reading the README as its tests do: marked samples of output, the commands."""

import re
from typing import List

from tests.helpers import REPO

README = REPO / "README.md"
ELISION = "..."


def sample(marker: str) -> List[str]:
    """The lines of the code block after ``<!-- marker ...-->`` in the README,
    without the lines that show the command (``$ ...``)."""
    text = README.read_text()
    after = text[text.index(f"<!-- {marker}"):]
    body = after[after.index("```"):]
    body = body[body.index("\n") + 1:]
    lines = body[:body.index("```")].rstrip("\n").split("\n")
    return [line for line in lines if not line.startswith("$ ")]


def mismatch(shown: List[str], real: List[str]) -> str:
    """Where ``shown`` is not ``real``: "" if each shown line is the next real
    one, except after a line "...", which stands for any number of lines."""
    at = 0
    skipping = False
    for line in shown:
        if line.strip() == ELISION:
            skipping = True
            continue
        if skipping:
            while at < len(real) and real[at] != line:
                at += 1
        if at >= len(real) or real[at] != line:
            return f"README: {line!r}\nreal: {real[at] if at < len(real) else 'the end'!r}"
        at += 1
        skipping = False
    if not skipping and at < len(real):
        return f"README ends, real goes on: {real[at]!r}"
    return ""


def nox_commands() -> List[str]:
    """Every session named after ``nox -s`` in the README, as typed."""
    found = re.findall(r"""nox -s ("[^"]+"|'[^']+'|[^\s`]+)""", README.read_text())
    return [name.strip("\"'") for name in found]
