"""The README's commands and pins are the project's own: every ``nox -s``
session it names exists as typed, and every version it pins is the package's."""

import ast
import re
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Set, Tuple

import pyg_jit_shim
from pyg_jit_shim.fixes import AFFECTED, FIXES
from tests.helpers import REPO
from tests.readme import PAGES, nox_commands, text


def _constants(tree: ast.Module) -> Dict[str, Any]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def _sessions() -> Set[str]:
    """The session names nox accepts, read from noxfile.py (nox itself is not
    installed where the tests run)."""
    tree = ast.parse((REPO / "noxfile.py").read_text())
    constants = _constants(tree)
    names = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
        if not any(isinstance(d, ast.Attribute) and d.attr == "session" for d in decorators):
            continue
        names.add(node.name)
        for decorator in node.decorator_list:
            if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "parametrize"):
                argument = ast.literal_eval(decorator.args[0])
                values = decorator.args[1]
                listed = (constants[values.id] if isinstance(values, ast.Name)
                          else ast.literal_eval(values))
                names.update(f"{node.name}({argument}={value!r})" for value in listed)
    return names


def test_every_nox_session_the_readme_names_exists() -> None:
    named = nox_commands()
    assert "tests(pyg='2.5.2')" in named and "build" in named
    assert sorted(set(named) - _sessions()) == []


def test_one_version_everywhere() -> None:
    version = pyg_jit_shim.__version__
    assert metadata.version("pyg-jit-shim") == version  # what pip installed
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.findall(r"^## (\S+)", changelog, flags=re.M)[0] == version
    readme = text()
    # pyg-jit-shim==X, the files pyg_jit_shim-X-..., and the git tag vX
    pinned = set(re.findall(r"pyg[-_]jit[-_]shim(?:==|-)(\d+\.\d+\.\d+)", readme)
                 + re.findall(r"@v(\d+\.\d+\.\d+)", readme))
    assert pinned == {version}


def _fix_table() -> Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]]:
    """docs/how-it-works.md's fix table: releases and patches, by fix id."""
    rows = {}
    for line in (REPO / "docs" / "how-it-works.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"`[\w-]+`", cells[0]):
            releases = tuple(release for release, mark in zip(AFFECTED, cells[2:5]) if mark)
            patches = tuple(re.findall(r"`([\w-]+)`", cells[5]))
            rows[cells[0].strip("`")] = (releases, patches)
    return rows


def test_the_docs_fix_table_is_fixes_py() -> None:
    assert _fix_table() == {fix.id: (fix.releases, fix.patches) for fix in FIXES}


def test_every_link_between_the_pages_leads_somewhere() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.is_file():
                broken.append(f"{page.name}: {target}")
            elif anchor and anchor not in _anchors(linked):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def _anchors(page: Path) -> Set[str]:
    """GitHub's anchors for the headings of ``page``."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
