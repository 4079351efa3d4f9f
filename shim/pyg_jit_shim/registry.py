"""Applies the patches a release needs, all or none of each."""

from typing import Dict, List, Tuple

from .construction import CONSTRUCTION
from .fixes import fixes_for, patches_for
from .generator import GENERATOR
from .inspector_fixes import COMMENTS, GLOBALS, SOURCE
from .keyword_calls import INSPECTOR_KEYWORDS
from .optional_edges import COLLECT_OPTIONAL_EDGES
from .patches import sequential_pickle
from .patching import Context, Implementation, Recorder
from .properties import PROPERTIES
from .report import WARNING, ShimError, describe, log
from .restore import RESTORE_GENERATION
from .targets import PyG

IMPLEMENTATIONS: Dict[str, Implementation] = {
    "generator": GENERATOR,
    "properties": PROPERTIES,
    "inspector-source": SOURCE,
    "inspector-globals": GLOBALS,
    "inspector-comments": COMMENTS,
    "construction": CONSTRUCTION,
}

# Beyond 2.5.3: fixes PyG made in 2.6.0 (see fixes.BEYOND_2_5_3).
IMPLEMENTATIONS.update({
    "restore-generation": RESTORE_GENERATION,
    "inspector-keywords": INSPECTOR_KEYWORDS,
    "collect-optional-edges": COLLECT_OPTIONAL_EDGES,
    "sequential-pickle": Implementation(sequential_pickle.check, sequential_pickle.apply),
})


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
            else IMPLEMENTATIONS[patch.name].check(pyg)
        )
        if reason is None:
            recorder = Recorder(patch.name)
            try:
                IMPLEMENTATIONS[patch.name].apply(pyg, recorder, context)
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
