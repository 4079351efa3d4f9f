"""Patch ``inspector-globals``: types named in a base class's module resolve in a
subclass defined elsewhere (2.5.0: NameError at construction; #8968, #8973)."""

import sys
from typing import Any, Dict, Optional

from ..lineage import merged_namespace, module_chain
from ..pyg_objects import PyG
from ..recording import Recorder


def check(pyg: PyG) -> Optional[str]:
    if pyg.Inspector is None:
        return "torch_geometric has no Inspector"
    if "_modules" in vars(pyg.Inspector):
        return "Inspector already resolves names across base classes"
    if not isinstance(vars(pyg.Inspector).get("_globals"), property):
        return "Inspector._globals is not a property"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    roots = pyg.roots

    def _globals(self: Any) -> Dict[str, Any]:  # fix: parent-imports
        return merged_namespace(module_chain(self._cls, roots), sys.modules)

    recorder.replace(pyg.Inspector, "_globals", property(_globals))
