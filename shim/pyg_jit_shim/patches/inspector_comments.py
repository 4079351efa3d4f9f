"""Patch ``inspector-comments``: ``self.propagate(...)`` inside comments and
docstrings is not taken for the call (2.5.0; #9044)."""

import re
from typing import Any, Dict, Optional, Tuple

from ..pyg_objects import PyG, parameter_names
from ..recording import Recorder


def strip_comments(source: str) -> str:
    """``source`` without ``#`` comments and triple-quoted strings, as 2.5.3 reads it."""
    source = re.sub(r"\s*#.*", "", source)
    for quotes in ('"""', "'''"):
        source = re.sub(f"r?{quotes}(.*?){quotes}", "", source, flags=re.DOTALL)
    return source


def check(pyg: PyG) -> Optional[str]:
    namespace = vars(pyg.inspector)
    if "remove_comments" in namespace:
        return "the inspector already ignores comments"
    if parameter_names(namespace.get("find_parenthesis_content")) != ("source", "prefix"):
        return "inspector.find_parenthesis_content(source, prefix) is not there"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    def ignore_comments(wrapped: Any, instance: Any, args: Tuple[Any, ...],
                        kwargs: Dict[str, Any]) -> Any:
        def call(source: str, prefix: str) -> Any:
            # Only searches for a call site; "propagate_type:" annotations are
            # themselves comments and must still be found.
            if prefix.startswith("self."):
                source = strip_comments(source)  # fix: comment-calls
            return wrapped(source, prefix)

        return call(*args, **kwargs)

    recorder.wrap(pyg.inspector, "find_parenthesis_content", ignore_comments)
