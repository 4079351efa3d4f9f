"""Patch ``construction``: generating ``propagate``/``edge_updater`` when a layer
is built, as PyG 2.5.3 does.

``MessagePassing.__init__`` of 2.5.0-2.5.2 ends with a broken generation step.
The wrapper below lets PyG's own ``__init__`` run everything else, makes it
skip that step (PyG skips a class whose method already looks generated; a
stand-in on the instance looks so while PyG's code runs), then performs the
step with 2.5.3's rules:

* a class's own ``propagate``/``edge_updater`` is kept;
* the module imports the modules of the class and all its bases;
* any failure leaves the eager method in place, as 2.5.3 does, but is reported
  once per class with its cause (raised under ``strict``) instead of swallowed.

This runs when a layer is built, never when it is called.
"""

import inspect
import os
import re
import sys
from typing import Any, Dict, List, Optional, Set, Tuple

from .. import modules
from ..lineage import merged_namespace, module_chain
from ..pyg_objects import PyG, directory_of
from ..recording import Recorder
from ..rendering import render, required_names
from ..report import WARNING, GenerationError, describe, log, pass_on
from ..weak_classes import ClassMap, ClassSet

# (method, template, name of its collect function)
_KINDS = (
    ("propagate", "propagate.jinja", "collect"),
    ("edge_updater", "edge_updater.jinja", "edge_collect"),
)
_TEMPLATES = ("propagate.jinja", "edge_updater.jinja", "collect.jinja")


class _OwnMethod(Exception):
    """The class defines the method itself: keep it (PyG 2.5.3)."""


class _StandIn:
    """Makes PyG's ``__init__`` believe the method is generated already."""

    def __init__(self, module: str) -> None:
        self.__module__ = module


def _prefix(cls: type) -> str:
    return f"{cls.__module__}_{cls.__name__}"


def generated_for(cls: type, kind: str) -> bool:
    """Whether ``cls`` itself holds a generated ``kind`` (by the shim or by PyG).

    Decided by identity, not by module name: a name can look like another
    class's (a class ``Conv_2`` beside a redefined ``Conv``).
    """
    own = vars(cls)
    method = own.get(kind)
    return (method is not None and own.get("_jinja_" + kind) is method
            and own.get("_orig_" + kind) is not method)


def star_imports(source: str, chain: List[str]) -> str:
    """``source`` with a ``from m import *`` line for every module in ``chain``.

    2.5.0's templates import the layer's own module only; the modules of its
    bases go right before that line, so that the layer's names still win.
    """
    lines = source.split("\n")
    present = {
        line[len("from "):-len(" import *")]
        for line in lines
        if line.startswith("from ") and line.endswith(" import *")
    }
    missing = [name for name in dict.fromkeys(chain) if name not in present]
    if not missing:
        return source
    anchor = f"from {chain[-1]} import *"
    if anchor in lines:
        at = lines.index(anchor)
    else:
        at = max(i for i, line in enumerate(lines) if line.startswith(("from ", "import "))) + 1
    lines[at:at] = [f"from {name} import *" for name in missing]
    return "\n".join(lines)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names_used(chain: List[str], source: str) -> Dict[str, Any]:
    """The globals of the layer's modules that ``source`` names.

    "from m import *" skips private names and names outside __all__, which
    layers do use in their type annotations and propagate_type comments
    (rendered into the source): those the source names are given to the
    generated module. Only those: the module lives as long as the class, and
    must not keep alive what the layer's module lets go of. Names the
    template imports itself are bound afterwards, so they are unchanged.
    """
    used = set(_IDENTIFIER.findall(source))
    namespace = merged_namespace(chain, sys.modules)
    return {key: value for key, value in namespace.items()
            if key in used and not (key.startswith("__") and key.endswith("__"))}


# Classes whose generation step the shim performed, or that it already named
# as built without it: across patch()/unpatch(), each is named at most once.
KNOWN = ClassSet()


class Construction:
    def __init__(self, pyg: PyG, strict: bool) -> None:
        # Set through the recorder, so that undoing and redoing the patch
        # switch it too; read once per construction.
        self.active = False
        self._base = pyg.MessagePassing
        self._roots = pyg.roots
        self._directory = directory_of(pyg.message_passing)
        self._strict = strict
        self._reported: ClassMap[Set[str]] = ClassMap()

    # -- the wrapper around MessagePassing.__init__ ---------------------------

    def __call__(self, wrapped: Any, layer: Any, args: Tuple[Any, ...],
                 kwargs: Dict[str, Any]) -> None:
        # Read once: a construction finishes with the patches it started
        # with, whatever patch()/unpatch() do meanwhile; nothing waits. False
        # for a call through a reference kept from before unpatch().
        if not self.active:
            wrapped(*args, **kwargs)
            return
        self._construct(wrapped, layer, args, kwargs)

    def _construct(self, wrapped: Any, layer: Any, args: Tuple[Any, ...],
                   kwargs: Dict[str, Any]) -> None:
        kwargs = dict(kwargs)
        decomposed_layers = kwargs.pop("decomposed_layers", 1)
        state = layer.__dict__
        names = ("propagate", "edge_updater")
        kept = {name: state[name] for name in names if name in state}
        # PyG's __init__ skips generation where the method's module starts with
        # the class's prefix; PyG's own decomposed_layers setter leaves alone a
        # method whose module ends with "_propagate".
        stand_in = _StandIn(_prefix(type(layer)) + "_pyg_jit_shim_propagate")
        for name in names:
            state[name] = stand_in
        # PyG's own setter call then changes nothing; 2.5.3's order (generate,
        # then apply decomposed_layers) is restored below.
        state["_decomposed_layers"] = 1
        try:
            wrapped(*args, decomposed_layers=1, **kwargs)
        finally:
            for name in names:
                if state.get(name) is stand_in:
                    del state[name]
            state.update(kept)
        self.generate(layer)
        layer._decomposed_layers = 1
        layer.decomposed_layers = decomposed_layers

    # -- PyG 2.5.3's generation step ------------------------------------------

    def generate(self, layer: Any, restoring: bool = False) -> None:
        for kind, template, collect in _KINDS:
            if kind == "edge_updater" and not layer.inspector.implements("edge_update"):
                continue
            self._generate(layer, kind, template, collect, restoring)

    def _generate(self, layer: Any, kind: str, template: str, collect: str,
                  restoring: bool = False) -> None:
        cls = type(layer)
        if generated_for(cls, kind):
            return
        module = failure = None
        try:
            own = vars(cls).get(kind)
            # On a restore, 2.6's rule (#9368): MessagePassing's own method put
            # back on the class (`Conv.propagate = Conv._orig_propagate`) is not
            # the class's own; any other function in the class is.
            if own is not None and not (restoring and own is vars(self._base).get(kind)):
                raise _OwnMethod()  # fix: custom-propagate
            module = self._build(layer, cls, _prefix(cls), kind, template, collect)
        except _OwnMethod:
            pass
        except Exception as error:
            pass_on(error)  # the caller's; the class is as it was
            failure = error
        with modules.LOCK:
            if generated_for(cls, kind):
                return  # another thread built this class meanwhile
            own = getattr(cls, kind)
            KNOWN.add(cls)
            # In this order, generated_for() turns true with the last step
            # only: an exception from a signal handler in between leaves a
            # class that the next construction completes, never one whose
            # propagate() lacks its collect().
            if module is None:
                setattr(cls, "_orig_" + kind, own)
                setattr(cls, "_jinja_" + kind, own)
            else:
                # Registered while the class lives: classes made in a loop and
                # dropped do not pile up modules.
                modules.hold(module, cls)
                generated = getattr(module, kind)
                setattr(cls, collect, getattr(module, collect))
                setattr(cls, "_orig_" + kind, own)
                setattr(cls, "_jinja_" + kind, generated)
                setattr(cls, kind, generated)
        if failure is not None:
            self._report(cls, kind, failure)  # fix: loud-failures

    def _build(self, layer: Any, cls: type, prefix: str, kind: str, template: str,
               collect: str) -> Any:
        # fix: layer-imports, parent-imports: the modules of the class and
        # all its bases, where 2.5.2 passes only one.
        chain = module_chain(cls, self._roots)
        try:
            variables = self._variables(layer, kind, chain, collect)
        except Exception as error:
            pass_on(error)
            step = f"reading {cls.__name__}'s {kind}() signature"
            if not _source_readable(cls):  # fix: unreadable-source
                step += "; inspect cannot read the class's source (defined by exec()?)"
            raise _Stage(step, error) from error
        path = os.path.join(self._directory, template)
        try:
            source = star_imports(render(path, variables), chain)
        except Exception as error:
            pass_on(error)
            raise _Stage(f"rendering PyG's {template}", error) from error
        return modules.shared_module(
            prefix + "_" + kind, source, required_names(path, variables),
            namespace=_names_used(chain, source), same_name=True,
        )

    def _variables(self, layer: Any, kind: str, chain: List[str],
                   collect: str) -> Dict[str, Any]:
        inspector = layer.inspector
        # Both spellings: 2.5.0's templates read `module`, later ones `modules`.
        common = {"modules": chain, "module": chain[-1], "collect_name": collect}
        if kind == "edge_updater":
            return dict(
                common,
                signature=layer._get_edge_updater_signature(),
                collect_param_dict=inspector.get_param_dict("edge_update"),
            )
        return dict(
            common,
            signature=layer._get_propagate_signature(),
            collect_param_dict=inspector.get_flat_param_dict(["message", "aggregate", "update"]),
            message_args=inspector.get_param_names("message"),
            aggregate_args=inspector.get_param_names("aggregate"),
            message_and_aggregate_args=inspector.get_param_names("message_and_aggregate"),
            update_args=inspector.get_param_names("update"),
            fuse=layer.fuse,
        )

    # -- diagnosis -------------------------------------------------------------

    def _report(self, cls: type, kind: str, failure: Exception) -> None:
        name = f"{cls.__module__}.{cls.__qualname__}"
        message = f"cannot generate {kind}() for {name}: {_cause(failure)}"
        if self._strict:
            raise GenerationError(message) from _root(failure)
        with modules.LOCK:
            seen = self._reported.setdefault(cls, set())
            first = kind not in seen
            seen.add(kind)
        if first:
            log(WARNING, "%s. Eager calls use PyG's fallback %s(); torch.jit.script() of "
                "this layer will fail. PYG_JIT_SHIM=strict raises here instead.",
                message, kind)


class _Stage(Exception):
    """An error, with the step of generation it happened in."""

    def __init__(self, step: str, error: Exception) -> None:
        super().__init__(step)
        self.step = step
        self.error = error


def _root(failure: Exception) -> BaseException:
    """The exception PyG itself would have swallowed."""
    if isinstance(failure, _Stage):
        return failure.error
    if isinstance(failure, modules.GeneratedCodeError) and failure.__cause__ is not None:
        return failure.__cause__
    return failure


def _cause(failure: Exception) -> str:
    if isinstance(failure, modules.GeneratedCodeError):
        return f"the generated code {failure}"
    if not isinstance(failure, _Stage):
        return describe(failure)
    return f"{describe(failure.error)} (while {failure.step})"


def _source_readable(cls: type) -> bool:
    try:
        inspect.getsource(cls)
    except (OSError, TypeError):
        return False
    return True


def _own_method_overwritten(cls: type, kind: str) -> bool:
    own = vars(cls).get("_orig_" + kind)
    qualname = f"{cls.__qualname__}.{kind}"
    return (
        inspect.isfunction(own)
        and own.__qualname__ == qualname
        and vars(cls).get(kind) is not own
    )


def _built_before(base: type) -> List[type]:
    found: List[type] = []
    pending: List[type] = list(base.__subclasses__())
    seen: Set[type] = set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        built = "_orig_propagate" in vars(cls) or "_orig_edge_updater" in vars(cls)
        if built and cls not in KNOWN:
            found.append(cls)
    return found


def _repair_built_classes(base: type) -> None:
    """Undoes, on classes built before the shim, what 2.5.3 would not have done."""
    built = _built_before(base)
    if not built:
        return
    KNOWN.update(built)
    repaired = []
    kept = []
    later = []
    for cls in sorted(built, key=lambda cls: (cls.__module__, cls.__qualname__)):
        name = f"{cls.__module__}.{cls.__qualname__}"
        own = []
        for kind, _, _ in _KINDS:
            if _own_method_overwritten(cls, kind):
                method = vars(cls)["_orig_" + kind]
                setattr(cls, kind, method)
                setattr(cls, "_jinja_" + kind, method)
                own.append(f"{cls.__qualname__}.{kind}")
        repaired.extend(own)
        # The methods are the class's: what it holds now, or gets at its next
        # construction, is what every instance uses, the earlier ones included.
        if any([generated_for(cls, kind) for kind, _, _ in _KINDS]):
            kept.append(name)
        elif not own:
            later.append(name)
    parts = [f"{len(built)} layer class(es) were built before the shim was active "
             "(instances built earlier get what their class gets)"]
    if later:
        parts.append("PyG could not generate their methods; the shim generates them at the "
                     "next construction of each class (until then torch.jit.script fails): "
                     + ", ".join(later))
    if kept:
        parts.append("kept as PyG generated them, without the shim's repairs: " + ", ".join(kept))
    if repaired:
        parts.append("own methods restored: " + ", ".join(repaired))
    log(WARNING, "%s. Import pyg_jit_shim before building layers.", "; ".join(parts))


def check(pyg: PyG) -> Optional[str]:
    base = pyg.MessagePassing
    if base is None:
        return "torch_geometric has no MessagePassing"
    init = vars(base).get("__init__")
    code = getattr(init, "__code__", None)
    if code is None:
        return "MessagePassing.__init__ is not a plain function"
    try:
        parameter = inspect.signature(init).parameters.get("decomposed_layers")
    except (TypeError, ValueError):
        parameter = None
    if parameter is None or parameter.kind != inspect.Parameter.KEYWORD_ONLY:
        return "MessagePassing.__init__ takes no keyword-only decomposed_layers"
    # The stand-in works because __init__ tests `self.propagate.__module__`.
    if not {"startswith", "__module__", "propagate"} <= set(code.co_names):
        return "MessagePassing.__init__ does not test whether propagate is generated"
    for method in ("_get_propagate_signature", "_get_edge_updater_signature"):
        if not callable(getattr(base, method, None)):
            return f"MessagePassing.{method} is not there"
    directory = directory_of(pyg.message_passing)
    for template in _TEMPLATES:
        if not os.path.isfile(os.path.join(directory, template)):
            return f"PyG's {template} is not there"
    return None


# The last wrapper this patch put around MessagePassing.__init__ and its
# Construction, for restore-generation: known without asking wrapt's internals.
_installed: List[Tuple[Any, Construction]] = []


def installed(pyg: PyG) -> Optional[Construction]:
    """The generation step now wrapped around ``MessagePassing.__init__``, if
    this patch put it there."""
    init = vars(pyg.MessagePassing).get("__init__")
    found = [construction for wrapper, construction in list(_installed) if wrapper is init]
    return found[0] if found else None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    construction = Construction(pyg, strict)
    recorder.replace(construction, "active", True)
    wrapper = recorder.wrap(pyg.MessagePassing, "__init__", construction)
    _installed[:] = [(wrapper, construction)]
    _repair_built_classes(pyg.MessagePassing)

