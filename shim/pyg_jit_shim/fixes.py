"""What is repaired on which PyG release: plain data, checkable against the
release notes at a glance. Upstream references are pyg-team/pytorch_geometric
issues and pull requests.

A *fix* is a defect as a user sees it. A *patch* is one change the shim makes to
PyG's objects; one patch may carry several fixes, and a fix counts as applied
only when every patch it needs is in place. Each patch is the module of its
name in ``pyg_jit_shim/patches/`` (``inspector-source``: ``inspector_source.py``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs more to import than the rest of the import path
    from typing import Optional, Tuple

# Releases whose template generator is broken. 2.5.3 is the reference.
AFFECTED = ("2.5.0", "2.5.1", "2.5.2")
# From the first generator release to the fixed one: unusual version strings in
# here are reported, not ignored.
WINDOW = ((2, 5, 0), (2, 5, 3))

ALL = AFFECTED


class Fix:
    __slots__ = ("fixed_in", "id", "patches", "releases", "summary", "upstream")

    def __init__(self, id: str, releases: Tuple[str, ...], upstream: str,
                 patches: Tuple[str, ...], summary: str,
                 fixed_in: Optional[str] = None) -> None:
        self.id = id
        self.releases = releases
        self.upstream = upstream
        self.patches = patches
        self.summary = summary
        # Set for fixes beyond 2.5.3: the first PyG release that has them, which
        # is what a 2.5.3 user needs (the shim leaves 2.5.3 alone).
        self.fixed_in = fixed_in


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


# -- Beyond 2.5.3 ---------------------------------------------------------------
# Generator fixes that upstream made only in 2.6.0. Each makes code work that
# fails on every 2.5.x (2.5.3 included) and leaves what works unchanged: same
# outputs, same scripted code (tests/affected/test_backports.py).
BEYOND_2_5_3 = "2.6.0"

FIXES += (
    Fix("script-after-load", ALL, "#9368 (MessagePassing.__setstate__)", ("restore-generation",),
        "a layer restored by torch.load/pickle in a process that never built its "
        "class gets the generated propagate()/edge_updater() a constructed one "
        "gets, so torch.jit.script works on it",
        fixed_in=BEYOND_2_5_3),
    Fix("keyword-propagate", ALL, "#9245", ("inspector-keywords",),
        "self.propagate(x=x, edge_index=edge_index), edge_index by keyword and not "
        "first, keeps x (TypeError: unexpected keyword argument 'x')",
        fixed_in=BEYOND_2_5_3),
    Fix("untyped-optional-edges", ALL, "#9494", ("collect-optional-edges",),
        "an untyped optional edge_weight/edge_attr/edge_type argument may be None "
        "eagerly (AssertionError in the generated collect); scripted code unchanged",
        fixed_in=BEYOND_2_5_3),
    Fix("sequential-pickle", ALL, "#9369 (PyG 2.6.0)", ("sequential-pickle",),
        "a torch.save'd/pickled model holding a Sequential loads in a fresh process "
        "(and with PyG alone): its class pickles as a call of PyG's Sequential(); "
        "a pickle written without the shim fails with a message saying why",
        fixed_in=BEYOND_2_5_3),
)

PATCHES += (
    Patch("restore-generation", ALL, ("construction",)),
    Patch("inspector-keywords", ALL, ()),
    Patch("collect-optional-edges", ALL, ("generator",)),
    Patch("sequential-pickle", ALL, ()),
)


def patches_for(release: str) -> Tuple[Patch, ...]:
    return tuple(patch for patch in PATCHES if release in patch.releases)


def fixes_for(release: str) -> Tuple[Fix, ...]:
    return tuple(fix for fix in FIXES if release in fix.releases)
