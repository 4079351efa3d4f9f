"""Applies the patches a release needs, all or none of each.

Each patch of ``fixes.PATCHES`` is the module of its name in
:mod:`pyg_jit_shim.patches`: ``inspector-source`` is ``patches/inspector_source.py``.
"""

import importlib
from typing import Dict, List, Optional, Protocol, Tuple, cast

from .fixes import fixes_for, patches_for
from .patching import Context, Recorder
from .report import WARNING, ShimError, describe, log
from .targets import PyG


class Implementation(Protocol):
    def check(self, pyg: PyG) -> Optional[str]:
        """Why ``pyg`` does not look as the patch expects; None when it fits."""

    def apply(self, pyg: PyG, recorder: Recorder, context: Context) -> None:
        """Changes PyG's objects, only through ``recorder``."""


def implementation(name: str) -> Implementation:
    module = importlib.import_module(".patches." + name.replace("-", "_"), __package__)
    return cast(Implementation, module)


def apply_patches(
    pyg: PyG, release: str, context: Context
) -> Tuple[List[Recorder], Tuple[str, ...], Tuple[str, ...]]:
    """Returns the applied patches, the fixes now in effect and the skipped patches."""
    needed = patches_for(release)
    names = {patch.name for patch in needed}
    applied: Dict[str, Recorder] = {}
    skipped: List[str] = []
    for patch in needed:
        missing = [name for name in patch.requires if name in names and name not in applied]
        reason = (
            "needs {}, which was skipped".format(", ".join(missing)) if missing
            else implementation(patch.name).check(pyg)
        )
        if reason is None:
            recorder = Recorder(patch.name)
            try:
                implementation(patch.name).apply(pyg, recorder, context)
            except ShimError:
                recorder.undo()
                raise
            except Exception as error:
                # Never half-applied: what this patch changed goes back.
                recorder.undo()
                reason = f"failed: {describe(error)}"
            else:
                applied[patch.name] = recorder
                continue
        skipped.append(f"{patch.name}: {reason}")
        if context.strict:
            for recorder in reversed(list(applied.values())):
                recorder.undo()
            raise ShimError(f"patch {patch.name!r} does not fit this torch_geometric: {reason}")
        log(WARNING, "patch %r skipped: %s; the fixes it carries are not in effect",
            patch.name, reason)
    fixes = tuple(
        fix.id for fix in fixes_for(release)
        if all(name in applied for name in fix.patches)
    )
    return list(applied.values()), fixes, tuple(skipped)
