"""Patch ``sequential-pickle``: pickled ``Sequential`` models load in a fresh
process (#9369).

PyG 2.5's ``Sequential(input_args, modules)`` is a function that renders a
class into a module named ``torch_geometric.nn.sequential_<6 hex digits>`` at
random, and returns an instance of it. A pickle names that module, which no
other process has: ``torch.load`` elsewhere raises ``ModuleNotFoundError``. PyG
2.6 redesigned ``Sequential`` (another class, other scripted code), which is
not done here.

Instead, when PyG builds such a class, the class learns what it was built
from and pickles as a call of PyG's own public ``Sequential(input_args,
modules)`` plus the instance's state, as ``torch.nn.Module`` pickles it.
Unpickling then rebuilds the class from PyG's code and restores the state over
it: the pickle refers to PyG and torch only, so it loads with PyG alone too.
The arguments are those the generator was given, written back as the text
PyG parses (``"x, edge_index -> Tensor"``, ``"x, edge_index -> x"``), so the
rebuilt class is rendered from the very same source; with the shim's
generator it is the same class as a ``Sequential`` built here with the same
layout. The children in the arguments are one ``torch.nn.Identity``: the
template reads only their names and signatures, and the real children come
with the state, so a child that refers back to the model pickles as before.

Pickles written without this patch name a module of the process that wrote
them and do not record the model's input arguments: nothing can rebuild them.
A finder at the end of ``sys.meta_path`` (reached only by an import that every
other finder failed) turns that ``ModuleNotFoundError`` into one that says so
and what to do.

Copies (``copy.copy``, ``copy.deepcopy``) are made as without the patch,
and loading a pickle draws no random number the program sees (PyG's
``Sequential()`` draws one for a module name: :mod:`pyg_jit_shim.pickle_parts`).

This runs when a ``Sequential`` class is built and when a model is pickled
or loaded, never when a model is called. Classes built while patched keep
pickling so after ``unpatch()``: their pickles load with PyG alone.
"""

import re
import sys
import types
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..pickle_parts import copied, random_neutral
from ..pyg_objects import PyG, directory_of, parameter_names
from ..recording import Recorder
from ..report import WARNING, describe, log, pass_on

# The keyword arguments of 2.5's call of the generator, in its bytecode.
_GENERATOR_KEYWORDS = ("module_name", "template_path", "tmp_dirname",
                       "input_types", "return_type", "children")
_CHILD_FIELDS = ("name", "module", "param_names", "return_names")
_TEMPLATE_VARIABLES = frozenset(("children", "input_types", "return_type"))
# What sequential.jinja reads of a child: not the module itself, so a
# placeholder renders the same source.
_CHILD_ATTRIBUTES = frozenset(("name", "param_names", "return_names"))

# Names PyG 2.5 gives generated Sequential modules; "_<n>" is the shim's own
# for a second source under a taken name.
_PREFIX = "torch_geometric.nn.sequential_"
_GENERATED = re.compile(r"torch_geometric\.nn\.sequential_[0-9a-f]{6}(?:_[0-9]+)?")

# One (name, "params -> returns") per child.
Layout = Tuple[Tuple[str, str], ...]


class SequentialPickleError(ModuleNotFoundError):
    """A pickled ``Sequential`` whose class existed only in the process that
    saved it. A ``ModuleNotFoundError``, so handlers of it still catch it."""


def message(module_name: str) -> str:
    return (
        f"No module named {module_name!r}: this pickle holds a "
        "torch_geometric.nn.Sequential whose class PyG 2.5 generated in that "
        "module, which existed only in the process that saved it, and it does "
        "not record the model's input arguments, so the class cannot be rebuilt. "
        "Where the code that builds the model runs, either save "
        "model.state_dict() and load it into the model built again by that code, "
        "or save the model again with pyg_jit_shim imported first (such pickles "
        "load in any process with this PyG release)."
    )


class UnsavedClassFinder:
    """Last on ``sys.meta_path``: reached only by imports no finder can serve."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.startswith(_PREFIX) and _GENERATED.fullmatch(fullname):
            raise SequentialPickleError(message(fullname), name=fullname)


# Template text -> what is wrong with it: patch() after unpatch() reads the
# file again but does not parse it again.
_verdicts: Dict[str, Optional[str]] = {}


def _template_problem(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        return f"sequential.jinja cannot be read: {describe(error)}"
    if text not in _verdicts:
        _verdicts[text] = _read_template(text)
    return _verdicts[text]


def _read_template(text: str) -> Optional[str]:
    try:
        from jinja2 import meta, nodes

        from ..rendering import unlocked_environment

        tree = unlocked_environment().parse(text)
    except Exception as error:
        pass_on(error)  # the caller's; the template is read again next time
        return f"sequential.jinja cannot be parsed: {describe(error)}"
    variables = meta.find_undeclared_variables(tree)
    if variables != _TEMPLATE_VARIABLES:
        expected = sorted(_TEMPLATE_VARIABLES)
        return f"sequential.jinja reads {sorted(variables)} instead of {expected}"
    attributes = {node.attr for node in tree.find_all(nodes.Getattr)}
    indexed = [node for node in tree.find_all(nodes.Getitem)
               if not (isinstance(node.node, nodes.Name) and node.node.name == "children")]
    if not attributes <= _CHILD_ATTRIBUTES or indexed:
        return "sequential.jinja reads more of a child than its name and signature"
    return None


def check(pyg: PyG) -> Optional[str]:
    namespace = vars(pyg.sequential)
    factory = namespace.get("Sequential")
    if not isinstance(factory, types.FunctionType):
        return "torch_geometric.nn.sequential.Sequential is not 2.5's function"
    if parameter_names(factory) != ("input_args", "modules"):
        return "Sequential does not take (input_args, modules)"
    if (factory.__module__, factory.__qualname__) != (pyg.sequential.__name__, "Sequential"):
        return "Sequential is not defined in torch_geometric.nn.sequential"
    code = factory.__code__
    if "module_from_template" not in code.co_names or _GENERATOR_KEYWORDS not in code.co_consts:
        return f"Sequential does not call module_from_template{_GENERATOR_KEYWORDS}"
    # PyG's generator, or the shim's in its place: another one may render
    # from more than the arguments that a pickle records.
    if namespace.get("module_from_template") is not vars(pyg.template).get("module_from_template"):
        return "torch_geometric.nn.sequential binds a different module_from_template"
    if getattr(namespace.get("Child"), "_fields", None) != _CHILD_FIELDS:
        return f"torch_geometric.nn.sequential.Child is not a NamedTuple{_CHILD_FIELDS}"
    if not callable(namespace.get("split")):
        return "torch_geometric.nn.sequential has no split()"
    import os

    return _template_problem(os.path.join(directory_of(pyg.sequential), "sequential.jinja"))


def _arguments(variables: Dict[str, Any]) -> Tuple[str, Layout]:
    """``Sequential``'s arguments, as text, from what the generator was given."""
    input_args = "{} -> {}".format(", ".join(variables["input_types"]), variables["return_type"])
    layout = tuple(
        (child.name, "{} -> {}".format(", ".join(child.param_names),
                                       ", ".join(child.return_names)))
        for child in variables["children"]
    )
    return input_args, layout


def _parses_back(split: Callable[..., List[str]], input_args: str, layout: Layout,
                 variables: Dict[str, Any]) -> bool:
    """Whether 2.5's parsing of the arguments gives the generator the same values."""
    signature = input_args.split("->")
    if len(signature) != 2 or signature[1].strip() != variables["return_type"]:
        return False
    if split(signature[0], sep=",") != list(variables["input_types"]):
        return False
    children: Sequence[Any] = variables["children"]
    if not children or len(children) != len(layout):
        return False
    for (name, description), child in zip(layout, children):
        parts = description.split("->")
        if len(parts) != 2 or not isinstance(name, str) or name != child.name:
            return False
        if [part.strip() for part in parts[0].split(",")] != list(child.param_names):
            return False
        if [part.strip() for part in parts[1].split(",")] != list(child.return_names):
            return False
    return True


def _reducer(cls: type, factory: Any, placeholder: Callable[[], Any],
             input_args: str, layout: Layout) -> Callable[[Any, int], Any]:
    def __reduce_ex__(self: Any, protocol: int) -> Any:
        found = getattr(sys.modules.get(factory.__module__), factory.__qualname__, None)
        if type(self) is not cls or found is not factory:
            # A subclass, or PyG's function no longer reachable by its name:
            # as without the patch.
            return object.__reduce_ex__(self, protocol)
        stand_in = placeholder()
        modules = OrderedDict((name, (stand_in, description)) for name, description in layout)
        # The state as torch.nn.Module pickles it: its __getstate__ (where
        # torch has one) leaves out what cannot be pickled.
        getstate = getattr(self, "__getstate__", None)
        state = getstate() if getstate is not None else self.__dict__.copy()
        # PyG's Sequential() draws a random module name: not from the
        # program's random numbers.
        arguments, state = random_neutral(input_args, state)
        return factory, (arguments, modules), state

    __reduce_ex__.__qualname__ = f"{cls.__qualname__}.__reduce_ex__"
    return __reduce_ex__


def _copiers(cls: type) -> Dict[str, Callable[..., Any]]:
    """A copy is made as without the patch: the class's own reduction is for
    pickles that leave the process, and would run PyG's generator again."""

    def __copy__(self: Any) -> Any:
        return copied(self, None)

    def __deepcopy__(self: Any, memo: Dict[int, Any]) -> Any:
        return copied(self, memo)

    methods: Dict[str, Callable[..., Any]] = {"__copy__": __copy__, "__deepcopy__": __deepcopy__}
    for name, method in methods.items():
        method.__qualname__ = f"{cls.__qualname__}.{name}"
    return methods


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    import torch

    namespace = vars(pyg.sequential)
    factory = namespace["Sequential"]
    split = namespace["split"]
    placeholder = torch.nn.Identity
    unusual: List[str] = []

    def record(cls: type, variables: Dict[str, Any]) -> None:
        input_args, layout = _arguments(variables)
        if _parses_back(split, input_args, layout, variables):
            for name, method in _copiers(cls).items():
                setattr(cls, name, method)
            cls.__reduce_ex__ = _reducer(  # type: ignore[assignment]
                cls, factory, placeholder, input_args, layout)
        elif not unusual:
            unusual.append(input_args)
            log(WARNING, "a Sequential(%r, ...) cannot be described as PyG parses it; "
                "its pickles load only in this process, as without the shim", input_args)

    def wrapper(wrapped: Any, instance: Any, args: Tuple[Any, ...],
                kwargs: Dict[str, Any]) -> Any:
        module = wrapped(*args, **kwargs)
        cls = getattr(module, "Sequential", None)
        # A class that pickles its own way (a vendor's template) is left so.
        own = ("__reduce_ex__", "__reduce__", "__copy__", "__deepcopy__")
        if isinstance(cls, type) and not [name for name in own if name in vars(cls)]:
            try:
                record(cls, kwargs)
            except Exception as error:
                pass_on(error)
                # Building worked before the shim; it must keep working.
                log(WARNING, "cannot make a Sequential picklable across processes: %s",
                    describe(error))
        return module

    # fix: sequential-pickle
    recorder.add(sys.meta_path, UnsavedClassFinder())
    recorder.wrap(pyg.sequential, "module_from_template", wrapper)
