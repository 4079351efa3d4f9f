"""A copy of a scripted module whose ``torch.jit.save`` archive loads again.

TorchScript compiles an archive's code anew when it is loaded. Two things it
writes cannot be compiled or written back, on every PyG release (PyG #8867):

* an ``if`` (or loop) that assigns two or more variables is printed as one
  tuple assignment per branch, ``a, b = x, y``, and Python allows no type
  annotation there. A variable typed ``Union[Tensor, SparseTensor]`` (or
  ``Optional[...]``) in the graph gets the branch's narrower type back, and
  the two branches disagree: "Type mismatch: edge_index1 is set to type
  Tensor in the true branch and type SparseTensor in the false branch".
  Here each such branch value goes through a no-op ``prim::unchecked_cast``
  to the declared type, which prints inline as ``unchecked_cast(Union[...], x)``.
* a function whose schema gives a ``Tensor`` argument the default ``None``
  (an undefined Tensor) cannot be written: "strides() called on an undefined
  Tensor". A call of such a function is inlined into the calling method, so
  that the function is not written at all. In a method's own schema (a
  layer's ``forward(..., x=None)`` without a type) that is out of reach:
  :class:`~pyg_jit_shim.report.UnsaveableError` names it.

The module itself is never changed: the repair works on a copy with types
and methods of its own (TorchScript names its classes ``___torch_mangle_N``,
as for any class it compiles twice), whose parameters and buffers are the
module's own tensors, so the archive shares storage exactly as the module.
Shared functions are read, never written: a function that needs a repair is
inlined into the copy instead.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .report import UnsaveableError

# What the repair uses of torch's graph API (torch._C, present since torch 1.x,
# checked on 2.2.2 and 2.13.0).
NEEDED = (
    ("torch._C", "_hack_do_not_use_clone_module_with_class"),
    ("torch._C.Graph", "create"),
    ("torch._C.Graph", "insertGraph"),
    ("torch._C.Graph", "insert_point_guard"),
    ("torch._C.Node", "replaceInput"),
    ("torch._C.Node", "insertBefore"),
    ("torch._C.Value", "setType"),
    ("torch.jit._state", "_python_cu"),
    ("torch.jit._recursive", "wrap_cpp_module"),
)

_UNION_KINDS = ("UnionType", "OptionalType")


class MissingGraphAPI(Exception):
    """This torch lacks part of the graph API the repair needs."""


class Repaired(NamedTuple):
    module: Any  # the repaired copy, a torch.jit.RecursiveScriptModule
    casts: int  # no-op casts inserted
    inlined: Tuple[str, ...]  # qualified names of the functions inlined


def missing_api() -> List[str]:
    import torch

    missing = []
    for owner, name in NEEDED:
        found: Any = torch
        for part in owner.split(".")[1:]:
            found = getattr(found, part, None)
        if not hasattr(found, name):
            missing.append(f"{owner}.{name}")
    return missing


# -- What needs a repair --------------------------------------------------------

# (the block or loop node whose input or output is cast, its index, the type)
Site = Tuple[Any, int, Any]


def _cast_sites(block: Any, found: List[Site]) -> List[Site]:
    """Where a multi-output ``if``/loop receives a value narrower than the
    Union or Optional type it declares."""
    for node in block.nodes():
        if node.kind() in ("prim::If", "prim::Loop") and node.outputsSize() >= 2:
            outputs = list(node.outputs())
            if node.kind() == "prim::If":
                # Block outputs are the branch values, one per node output.
                for branch in node.blocks():
                    found.extend(_narrower(branch, list(branch.outputs()), outputs, 0))
            else:
                # Loop body outputs: the condition, then the carried values;
                # node inputs: trip count, condition, then the initial values.
                body = next(iter(node.blocks()))
                found.extend(_narrower(body, list(body.outputs()), outputs, 1))
                found.extend(_narrower(node, list(node.inputs()), outputs, 2))
        for inner in node.blocks():
            _cast_sites(inner, found)
    return found


def _narrower(owner: Any, values: List[Any], outputs: List[Any], offset: int) -> List[Site]:
    sites = []
    for index, output in enumerate(outputs):
        declared = output.type()
        if declared.kind() in _UNION_KINDS and values[index + offset].type() != declared:
            sites.append((owner, index + offset, declared))
    return sites


def _undefined_defaults(schema: Any) -> List[str]:
    """Arguments typed ``Tensor`` whose default is ``None``: an undefined Tensor."""
    return [argument.name for argument in schema.arguments
            if argument.type.kind() == "TensorType" and argument.has_default_value()
            and argument.default_value is None]


class _Functions:
    """The script functions that calls lead to, and which of them need a repair."""

    def __init__(self) -> None:
        import torch

        self._unit = torch.jit._state._python_cu
        self._needs: Dict[str, bool] = {}

    def callee(self, call: Any) -> Optional[Any]:
        # A call's first input is a constant whose FunctionType names the
        # function; a module loaded from an archive has its functions in a
        # unit of its own, where they are not looked up (they loaded once).
        name = call.inputsAt(0).type().annotation_str
        found = self._unit.find_function(name)
        return found

    def needs_repair(self, function: Any) -> bool:
        name = function.qualified_name
        known = self._needs.get(name)
        if known is not None:
            return known
        self._needs[name] = False  # a recursive call is decided by its other branches
        graph = function.graph
        needs = bool(_undefined_defaults(function.schema)) or bool(_cast_sites(graph.block(), []))
        if not needs:
            needs = bool(self.repaired_calls(graph))
        self._needs[name] = needs
        return needs

    def repaired_calls(self, graph: Any) -> List[Tuple[Any, Any]]:
        calls = []
        for call in graph.findAllNodes("prim::CallFunction"):
            callee = self.callee(call)
            if callee is not None and self.needs_repair(callee):
                calls.append((call, callee))
        return calls


def _methods(module: Any) -> List[Tuple[str, Any, Any]]:
    """(owner's class name, method name, method) for every method of every class
    in ``module``, each class once: instances of one class share its methods."""
    seen = set()
    found = []
    for _, submodule in module.named_modules(remove_duplicate=False):
        kind = submodule._c._type()
        if kind.qualified_name() in seen:
            continue
        seen.add(kind.qualified_name())
        for name in submodule._c._method_names():
            found.append((kind.name(), name, submodule._c._get_method(name)))
    return found


def needs_repair(module: Any) -> bool:
    """Whether :func:`repaired_copy` would change anything."""
    functions = _Functions()
    return any([_cast_sites(method.graph.block(), []) or functions.repaired_calls(method.graph)
                for _, _, method in _methods(module)])


def _refuse_unsaveable(module: Any) -> None:
    found = [f"{owner}.{name}({', '.join(arguments)}=None)"
             for owner, name, method in _methods(module)
             for arguments in [_undefined_defaults(method.schema)] if arguments]
    if found:
        raise UnsaveableError(
            "TorchScript cannot write {}: an argument typed Tensor whose default is None "
            "(in the source, an argument without a type annotation that defaults to None, "
            "which TorchScript takes for a Tensor). This is the layer's own code; "
            "annotating it in the source (for example `: Optional[bool] = None`, or "
            "`: None = None` where it is never given) makes it savable".format(
                ", ".join(found)))


# -- The repair -------------------------------------------------------------------

def _inline(graph: Any, functions: _Functions, inlined: Dict[str, None]) -> None:
    while True:
        calls = functions.repaired_calls(graph)
        if not calls:
            return
        for call, callee in calls:
            with graph.insert_point_guard(call):
                results = graph.insertGraph(callee.graph, list(call.inputs())[1:])
            for output, result in zip(list(call.outputs()), results):
                output.replaceAllUsesWith(result)
            call.destroy()
            inlined[callee.qualified_name] = None


def _cast(graph: Any, site: Site) -> None:
    import torch

    owner, index, declared = site
    if isinstance(owner, torch._C.Block):  # its outputs are its return node's inputs
        value = list(owner.outputs())[index]
        cast = graph.create("prim::unchecked_cast", [value], 1)
        cast.insertBefore(owner.returnNode())
        owner.returnNode().replaceInput(index, cast.output())
    else:  # a loop node: its initial value
        value = list(owner.inputs())[index]
        cast = graph.create("prim::unchecked_cast", [value], 1)
        cast.insertBefore(owner)
        owner.replaceInput(index, cast.output())
    cast.output().setType(declared)


def _share_tensors(original: Any, copy: Any) -> None:
    """The copy's parameters and buffers become the module's own tensors: the
    archive then shares storage as the module does, and the clone's copies go."""
    pairs = zip(original.named_modules(remove_duplicate=False),
                copy.named_modules(remove_duplicate=False))
    for (_, mine), (_, theirs) in pairs:
        for name, tensor in [*mine.named_parameters(recurse=False),
                             *mine.named_buffers(recurse=False)]:
            theirs._c.setattr(name, tensor)


def repaired_copy(module: Any) -> Repaired:
    """A copy of the scripted ``module`` with every repair above made.

    Raises :class:`MissingGraphAPI` where this torch lacks what it needs, and
    :class:`~pyg_jit_shim.report.UnsaveableError` for a cause out of reach.
    """
    missing = missing_api()
    if missing:
        raise MissingGraphAPI(", ".join(missing))
    import torch

    _refuse_unsaveable(module)
    clone = torch.jit._recursive.wrap_cpp_module(
        torch._C._hack_do_not_use_clone_module_with_class(module._c, [], []))
    _share_tensors(module, clone)
    functions = _Functions()
    inlined: Dict[str, None] = {}
    casts = 0
    for _, _, method in _methods(clone):
        graph = method.graph
        _inline(graph, functions, inlined)
        # Last site first: a cast inserted never moves a site still to come.
        for site in reversed(_cast_sites(graph.block(), [])):
            _cast(graph, site)
            casts += 1
    return Repaired(clone, casts, tuple(inlined))
