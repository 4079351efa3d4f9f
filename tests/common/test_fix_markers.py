"""From a row of the fix table to its code: each patch that a fix names says
so where it makes the fix (``# fix: <id>[, <id>...]``)."""

import re
from pathlib import Path
from typing import Dict, Set

from pyg_jit_shim.fixes import FIXES, PATCHES

PATCH_DIR = Path(__file__).resolve().parents[2] / "shim" / "pyg_jit_shim" / "patches"
MARKER = re.compile(r"#\s*fix:\s*([\w-]+(?:,\s*[\w-]+)*)")


def _markers() -> Dict[str, Set[str]]:
    """The fix ids marked in each patch's module, by patch name."""
    found = {}
    for patch in PATCHES:
        text = (PATCH_DIR / (patch.name.replace("-", "_") + ".py")).read_text()
        found[patch.name] = {fix_id.strip() for group in MARKER.findall(text)
                             for fix_id in group.split(",")}
    return found


def test_every_fix_is_marked_in_each_patch_it_names() -> None:
    markers = _markers()
    missing = [f"{fix.id} in {patch}" for fix in FIXES for patch in fix.patches
               if fix.id not in markers[patch]]
    assert missing == []


def test_no_marker_names_a_fix_that_does_not_name_its_patch() -> None:
    named = {(fix.id, patch) for fix in FIXES for patch in fix.patches}
    stray = [f"{fix_id} in {patch}" for patch, ids in _markers().items() for fix_id in ids
             if (fix_id, patch) not in named]
    assert stray == []
