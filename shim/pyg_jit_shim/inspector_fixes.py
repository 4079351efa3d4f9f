"""Backports of PyG 2.5.3's Inspector behaviour to 2.5.0 and 2.5.1."""

import inspect
import sys
from typing import Any, Dict, Optional, Tuple

from .lineage import merged_namespace, module_chain
from .patching import Context, Implementation, Recorder, parameter_names
from .targets import PyG


def _roots(pyg: PyG) -> Tuple[type, ...]:
    return (object, pyg.Module, pyg.MessagePassing)


def _check_source(pyg: PyG) -> Optional[str]:
    if pyg.Inspector is None or pyg.MessagePassing is None:
        return "torch_geometric has no Inspector or MessagePassing"
    if parameter_names(vars(pyg.Inspector).get("get_source")) != ("self", "cls"):
        return "Inspector.get_source(self, cls) is not there"
    return None


def _apply_source(pyg: PyG, recorder: Recorder, context: Context) -> None:
    roots = _roots(pyg)

    def get_source(self: Any, cls: Optional[type] = None) -> str:
        cls = cls or self._cls
        cache: Dict[str, str] = self._source_dict
        if cls.__name__ in cache:
            return cache[cls.__name__]
        if cls in roots:
            return ""
        # Unreadable source raises, as in 2.5.3: MessagePassing then keeps the
        # eager propagate() instead of generating one with an empty signature.
        source = inspect.getsource(cls)
        cache[cls.__name__] = source
        return source

    recorder.replace(pyg.Inspector, "get_source", get_source)


def _check_globals(pyg: PyG) -> Optional[str]:
    if pyg.Inspector is None:
        return "torch_geometric has no Inspector"
    if "_modules" in vars(pyg.Inspector):
        return "Inspector already resolves names across base classes"
    if not isinstance(vars(pyg.Inspector).get("_globals"), property):
        return "Inspector._globals is not a property"
    return None


def _apply_globals(pyg: PyG, recorder: Recorder, context: Context) -> None:
    roots = _roots(pyg)

    def _globals(self: Any) -> Dict[str, Any]:
        # Types named in a base class's module resolve in a subclass defined
        # elsewhere.
        return merged_namespace(module_chain(self._cls, roots), sys.modules)

    recorder.replace(pyg.Inspector, "_globals", property(_globals))


def strip_comments(source: str) -> str:
    """``source`` without ``#`` comments and triple-quoted strings, as 2.5.3 reads it."""
    import re

    source = re.sub(r"\s*#.*", "", source)
    for quotes in ('"""', "'''"):
        source = re.sub(f"r?{quotes}(.*?){quotes}", "", source, flags=re.DOTALL)
    return source


def _check_comments(pyg: PyG) -> Optional[str]:
    namespace = vars(pyg.inspector)
    if "remove_comments" in namespace:
        return "the inspector already ignores comments"
    if parameter_names(namespace.get("find_parenthesis_content")) != ("source", "prefix"):
        return "inspector.find_parenthesis_content(source, prefix) is not there"
    return None


def _apply_comments(pyg: PyG, recorder: Recorder, context: Context) -> None:
    def ignore_comments(wrapped: Any, instance: Any, args: Tuple[Any, ...],
                        kwargs: Dict[str, Any]) -> Any:
        def call(source: str, prefix: str) -> Any:
            # Only searches for a call site; "propagate_type:" annotations are
            # themselves comments and must still be found.
            if prefix.startswith("self."):
                source = strip_comments(source)
            return wrapped(source, prefix)

        return call(*args, **kwargs)

    recorder.wrap(pyg.inspector, "find_parenthesis_content", ignore_comments)


SOURCE = Implementation(_check_source, _apply_source)
GLOBALS = Implementation(_check_globals, _apply_globals)
COMMENTS = Implementation(_check_comments, _apply_comments)
