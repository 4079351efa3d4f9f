"""status() on an affected release, checked against the release notes."""

import torch_geometric  # noqa: F401  (the repairs apply once PyG is imported)

import pyg_jit_shim
from pyg_jit_shim.fixes import FIXES
from tests.helpers import PYG

# From CONTEXT.md, release by release; beyond 2.5.3's own fixes, the shim also
# repairs what 2.5.3 still gets wrong (files, half-built and shared modules).
EXPECTED = {
    "2.5.0": {"parent-imports", "comment-calls"},
    "2.5.1": {"unreadable-source"},
    "2.5.2": {"layer-imports"},
}
EVERY_AFFECTED = {
    "in-memory-modules", "complete-modules", "unique-modules", "custom-propagate",
    "load-compat", "loud-failures",
}
# Fixed upstream in 2.6.0 only (CONTEXT.md, "Fixed only in 2.6.0").
BEYOND_2_5_3 = {"script-after-load", "keyword-propagate", "untyped-optional-edges",
                "sequential-pickle"}


def test_patched_with_this_releases_fixes() -> None:
    status = pyg_jit_shim.status()
    assert status.verdict == "patched"
    assert status.pyg_version == PYG
    assert status.mode == "auto"
    assert status.skipped == ()
    assert set(status.fixes) == EXPECTED[PYG] | EVERY_AFFECTED | BEYOND_2_5_3


def test_every_fix_names_its_upstream_reference_and_patches() -> None:
    for fix in FIXES:
        assert fix.upstream and fix.summary and fix.patches
        assert set(fix.releases) <= {"2.5.0", "2.5.1", "2.5.2"}
    beyond = {fix.id: (fix.fixed_in, fix.upstream.split()[0]) for fix in FIXES if fix.fixed_in}
    assert beyond == {"script-after-load": ("2.6.0", "#9368"),
                      "keyword-propagate": ("2.6.0", "#9245"),
                      "untyped-optional-edges": ("2.6.0", "#9494"),
                      "sequential-pickle": ("2.6.0", "#9369")}
