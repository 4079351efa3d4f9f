"""Applies the patches a release needs, all or none of each.

Each patch of ``fixes.PATCHES`` is the module of its name in
:mod:`pyg_jit_shim.patches`: ``inspector-source`` is ``patches/inspector_source.py``.
"""

import importlib
from typing import List, Optional, Protocol, Tuple, cast

from .fixes import fixes_for, patches_for
from .pyg_objects import PyG
from .recording import Recorder
from .report import WARNING, ShimError, describe, log, pass_on


class Implementation(Protocol):
    def check(self, pyg: PyG) -> Optional[str]:
        """Why ``pyg`` does not look as the patch expects; None when it fits."""

    def apply(self, pyg: PyG, recorder: Recorder, strict: bool) -> None:
        """Changes PyG's objects, only through ``recorder``; ``strict`` raises
        where ``auto`` would only log."""


def implementation(name: str) -> Implementation:
    module = importlib.import_module(".patches." + name.replace("-", "_"), __package__)
    return cast(Implementation, module)


def apply_patches(pyg: PyG, release: str, strict: bool, applied: List[Recorder]
                  ) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Applies the patches ``release`` needs, each recorder entering ``applied``
    before its patch changes anything (so that the caller can undo all of them
    whenever this is interrupted). Returns the fixes now in effect and the
    skipped patches."""
    needed = patches_for(release)
    names = {patch.name for patch in needed}
    skipped: List[str] = []
    for patch in needed:
        done = {recorder.name for recorder in applied}
        missing = [name for name in patch.requires if name in names and name not in done]
        reason = (
            "needs {}, which was skipped".format(", ".join(missing)) if missing
            else implementation(patch.name).check(pyg)
        )
        if reason is None:
            recorder = Recorder(patch.name)
            applied.append(recorder)
            try:
                implementation(patch.name).apply(pyg, recorder, strict)
            except ShimError:
                raise
            except Exception as error:
                pass_on(error)  # the caller's: apply() takes back what was applied
                # Never half-applied: what this patch changed goes back.
                recorder.undo()
                applied.remove(recorder)
                reason = f"failed: {describe(error)}"
            else:
                continue
        skipped.append(f"{patch.name}: {reason}")
        if strict:
            raise ShimError(f"patch {patch.name!r} does not fit this torch_geometric: {reason}")
        log(WARNING, "patch %r skipped: %s; the fixes it carries are not in effect",
            patch.name, reason)
    done = {recorder.name for recorder in applied}
    fixes = tuple(
        fix.id for fix in fixes_for(release)
        if all([name in done for name in fix.patches])
    )
    return fixes, tuple(skipped)
