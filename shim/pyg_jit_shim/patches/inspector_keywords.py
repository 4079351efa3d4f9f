"""Patch ``inspector-keywords``: ``self.propagate(x=x, edge_index=edge_index)``,
edge_index by keyword (#9245).

The inspector reads the generated ``propagate()``'s parameters off the
layer's ``self.propagate(...)`` call, leaving out ``edge_index``, ``size`` and
the first argument, which it takes to be ``edge_index`` given positionally.
When the call passes ``edge_index`` by keyword after another keyword, that
other argument is the first one: it is left out, and the generated
``propagate()`` rejects it with ``TypeError: propagate() got an unexpected
keyword argument 'x'``. PyG 2.6 leaves an argument out by its position only
when it is given positionally. The wrapper below does the same: before PyG's
own parser runs, positions where the call passes a keyword are taken out of
the positions to leave out. The call is found as PyG finds it (same source,
same comment handling, same parser).

A keyword argument is ``name=...``; 2.6 takes any argument containing ``=``
for one, which also catches a positional ``edge_index[:, mask == 1]``: that
call works on 2.5 and stays as it is here.

This runs when a layer class is built, never when a layer is called.
"""

import re
import types
from typing import Any, Dict, List, Optional, Set, Tuple

from ..pyg_objects import PyG, parameter_names
from ..recording import Recorder
from ..report import pass_on

_KEYWORD = re.compile(r"[^\W\d]\w*\s*=(?!=)")
_PARSER = ("find_parenthesis_content", "split")


def keyword_positions(inspector_module: Any, inspector: Any, func_name: str) -> Optional[Set[int]]:
    """Positions of the keyword arguments in the call PyG parses, None if none is found."""
    namespace = vars(inspector_module)
    for cls in inspector._cls.__mro__:
        source = inspector.get_source(cls)
        remove_comments = namespace.get("remove_comments")  # 2.5.1 and later
        if remove_comments is not None:
            source = remove_comments(source)
        match = namespace["find_parenthesis_content"](source, f"self.{func_name}")
        if match is not None:
            arguments = namespace["split"](match, sep=",")
            return {i for i, argument in enumerate(arguments)
                    if _KEYWORD.match(argument.strip())}
    return None


def _exclusions(inspector_module: Any, inspector: Any, func: Any,
                exclude: Optional[List[Any]]) -> Optional[List[Any]]:
    if not exclude or not any([isinstance(item, int) for item in exclude]):
        return exclude
    func_name = func if isinstance(func, str) else getattr(func, "__name__", "")
    if hasattr(inspector._cls, f"{func_name}_type"):
        return exclude  # PyG reads the class attribute, not the call
    try:
        keywords = keyword_positions(inspector_module, inspector, func_name)
    except Exception as error:
        pass_on(error)
        # PyG's own parser meets the same problem right after, and its
        # caller reports it as it always did.
        return exclude
    if not keywords:
        return exclude
    return [item for item in exclude if not (isinstance(item, int) and item in keywords)]


def check(pyg: PyG) -> Optional[str]:
    if pyg.Inspector is None:
        return "torch_geometric has no Inspector"
    method = vars(pyg.Inspector).get("get_params_from_method_call")
    if type(method) is not types.FunctionType:
        return "Inspector.get_params_from_method_call is not a plain function"
    code = method.__code__
    if code.co_varnames[:code.co_argcount] != ("self", "func", "exclude"):
        return "Inspector.get_params_from_method_call(self, func, exclude) is not there"
    if not set(_PARSER) <= set(code.co_names):
        return ("Inspector.get_params_from_method_call does not parse calls with "
                "find_parenthesis_content and split")
    namespace = vars(pyg.inspector)
    expected: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
        ("find_parenthesis_content", ("source", "prefix")), ("split", ("content", "sep")))
    for name, parameters in expected:
        if parameter_names(namespace.get(name)) != parameters:
            return "inspector.{}({}) is not there".format(name, ", ".join(parameters))
    if "remove_comments" in namespace and parameter_names(
            namespace["remove_comments"]) != ("content",):
        return "inspector.remove_comments(content) is not what PyG 2.5 has"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    inspector_module = pyg.inspector

    def positional_exclusions(wrapped: Any, instance: Any, args: Tuple[Any, ...],
                              kwargs: Dict[str, Any]) -> Any:
        def call(func: Any, exclude: Optional[List[Any]] = None) -> Any:
            return wrapped(func, exclude=_exclusions(inspector_module, instance, func, exclude))

        return call(*args, **kwargs)

    # fix: keyword-propagate
    recorder.wrap(pyg.Inspector, "get_params_from_method_call", positional_exclusions)

