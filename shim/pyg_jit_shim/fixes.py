"""What is repaired on which PyG release: plain data, checkable against the
release notes at a glance. Upstream references are pyg-team/pytorch_geometric
issues and pull requests.

A *fix* is a defect as a user sees it. A *patch* is one change the shim makes to
PyG's objects; one patch may carry several fixes, and a fix counts as applied
only when every patch it needs is in place.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs more to import than the rest of the import path
    from typing import Tuple

# Releases whose template generator is broken. 2.5.3 is the reference.
AFFECTED = ("2.5.0", "2.5.1", "2.5.2")
# From the first generator release to the fixed one: unusual version strings in
# here are reported, not ignored.
WINDOW = ((2, 5, 0), (2, 5, 3))

ALL = AFFECTED


class Fix:
    __slots__ = ("id", "patches", "releases", "summary", "upstream")

    def __init__(self, id: str, releases: Tuple[str, ...], upstream: str,
                 patches: Tuple[str, ...], summary: str) -> None:
        self.id = id
        self.releases = releases
        self.upstream = upstream
        self.patches = patches
        self.summary = summary


class Patch:
    __slots__ = ("name", "releases", "requires")

    def __init__(self, name: str, releases: Tuple[str, ...], requires: Tuple[str, ...]) -> None:
        self.name = name
        self.releases = releases
        self.requires = requires  # patches that must be in place first


FIXES: Tuple[Fix, ...] = (
    Fix("in-memory-modules", ALL, "#9025 #9032 #8994; files remain in 2.5.3",
        ("generator",),
        "generated modules are built in memory: no file in the PyG home dir, the "
        "temp dir or the working dir; read-only file systems work; processes "
        "cannot clobber each other's module"),
    Fix("complete-modules", ALL, "remains in 2.5.3", ("generator",),
        "a generated module enters sys.modules only once it is complete and "
        "defines what its caller needs"),
    Fix("unique-modules", ALL, "#9371; remains in 2.5.3", ("generator",),
        "two different sources never share a module (Sequential uid collisions, "
        "redefined classes); identical Sequential sources share one"),
    Fix("layer-imports", ("2.5.2",), "#9115", ("construction",),
        "the generated module imports the modules of the layer and its bases "
        "(2.5.2 passes module= instead of modules=)"),
    Fix("parent-imports", ("2.5.0",), "#8968 #8973",
        ("construction", "inspector-globals"),
        "types from a parent class's module resolve (NameError at construction)"),
    Fix("comment-calls", ("2.5.0",), "#9044", ("inspector-comments",),
        "self.propagate(...) inside comments and docstrings is ignored"),
    Fix("custom-propagate", ALL, "#9077 #9079", ("construction",),
        "a class's own propagate()/edge_updater() is kept, never replaced"),
    Fix("unreadable-source", ("2.5.1",), "#9059 #9068",
        ("construction", "inspector-source"),
        "a class whose source cannot be read keeps the eager propagate() instead "
        "of an empty signature and a TypeError at call time"),
    Fix("load-compat", ALL, "#9105", ("properties",),
        "explain and decomposed_layers work on layers restored by torch.load in "
        "a process that never built their class"),
    Fix("loud-failures", ALL, "PyG swallows the error", ("construction",),
        "a class whose propagate() cannot be generated is reported once, with the "
        "cause (raised under PYG_JIT_SHIM=strict)"),
)

# Each patch works on its own over PyG's objects, whichever others are in
# place; `requires` names only what it cannot work without.
PATCHES: Tuple[Patch, ...] = (
    Patch("generator", ALL, ()),
    Patch("properties", ALL, ()),
    # 2.5.0 guarded unreadable sources itself, in the part of __init__ that the
    # construction patch takes over, so it needs the 2.5.3 inspector there too.
    Patch("inspector-source", ("2.5.0", "2.5.1"), ()),
    Patch("inspector-globals", ("2.5.0",), ()),
    Patch("inspector-comments", ("2.5.0",), ()),
    Patch("construction", ALL, ("inspector-source",)),
)


def patches_for(release: str) -> Tuple[Patch, ...]:
    return tuple(patch for patch in PATCHES if release in patch.releases)


def fixes_for(release: str) -> Tuple[Fix, ...]:
    return tuple(fix for fix in FIXES if release in fix.releases)
