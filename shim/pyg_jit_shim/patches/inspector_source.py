"""Patch ``inspector-source``: PyG 2.5.3's ``Inspector.get_source`` on 2.5.0
and 2.5.1.

A class whose source cannot be read raises, as in 2.5.3: ``MessagePassing``
then keeps the eager ``propagate()`` instead of generating one with an empty
signature and failing with a TypeError at call time (#9059, #9068).
"""

import inspect
from typing import Any, Dict, Optional

from ..pyg_objects import PyG, parameter_names
from ..recording import Recorder


def check(pyg: PyG) -> Optional[str]:
    if pyg.Inspector is None or pyg.MessagePassing is None:
        return "torch_geometric has no Inspector or MessagePassing"
    if parameter_names(vars(pyg.Inspector).get("get_source")) != ("self", "cls"):
        return "Inspector.get_source(self, cls) is not there"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    # fix: unreadable-source: an unreadable source raises (OSError), so that
    # construction keeps the eager method, as 2.5.3 does.
    roots = pyg.roots

    def get_source(self: Any, cls: Optional[type] = None) -> str:
        cls = cls or self._cls
        cache: Dict[str, str] = self._source_dict
        if cls.__name__ in cache:
            return cache[cls.__name__]
        if cls in roots:
            return ""
        source = inspect.getsource(cls)
        cache[cls.__name__] = source
        return source

    recorder.replace(pyg.Inspector, "get_source", get_source)
