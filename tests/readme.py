"""Reading the README and docs/ as their tests do: marked samples of output,
the commands."""

import re
from pathlib import Path
from typing import List

from tests.helpers import REPO

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
ELISION = "..."


def text() -> str:
    """The README and every page of docs/, one after another."""
    return "\n".join(page.read_text() for page in PAGES)


def page_with(marker: str) -> Path:
    (found,) = [page for page in PAGES if f"<!-- {marker}" in page.read_text()]
    return found


def sample(marker: str) -> List[str]:
    """The lines of the code block after ``<!-- marker ...-->`` (on the one page
    that has it), without the lines that show the command (``$ ...``)."""
    text = page_with(marker).read_text()
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
    """Every session named after ``nox -s`` in the README and docs/, as typed."""
    found = re.findall(r"""nox -s ("[^"]+"|'[^']+'|[^\s`]+)""", text())
    return [name.strip("\"'") for name in found]
