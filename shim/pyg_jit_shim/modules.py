"""Generated modules, built in memory.

PyG writes each generated module to a file and imports it from there. Here the
source never touches a disk: it is compiled under a name that cannot clash with
a real file, and handed to ``inspect``, tracebacks and TorchScript through the
module's loader and ``linecache``, the way ``importlib`` does for any module
whose source a loader provides. A module enters ``sys.modules`` only once it
has executed and defines what its caller needs, and never under a name that
another source holds.
"""

import importlib.machinery
import linecache
import sys
import threading
import weakref
from types import FunctionType, ModuleType, TracebackType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import dump
from .report import ShimError, describe, pass_on
from .weak_classes import Freed

# Serializes registration: held for a few lines of the shim's own bookkeeping,
# never while generated, PyG's or a user's code runs or an import happens.
# Re-entrant, for a signal handler that builds a layer while its thread holds
# it; made anew in a forked child (reset_after_fork), where a thread that held
# it does not exist.
LOCK = threading.RLock()
# Names chosen but not yet registered, each with its chooser's token.
_reserved: Dict[str, object] = {}
# Modules that identical sources share, by (name or "", source); and each such
# module's key, by its name.
_shared: Dict[Tuple[str, str], ModuleType] = {}
_keys: Dict[str, Tuple[str, str]] = {}

FILENAME_PREFIX = "<pyg_jit_shim>/"
_SUFFIXES = ("_propagate", "_edge_updater")


class GeneratedCodeError(ShimError):
    """The rendered source does not compile, fails to execute, or lacks a name."""

    def __init__(self, module_name: str, cause: str, line: Optional[int], text: str) -> None:
        where = ""
        if line is not None:
            where = f" at generated line {line}: {text.strip()!r}"
        super().__init__(f"{cause}{where} (module {module_name})")
        self.module_name = module_name
        self.line = line


class _SourceLoader:
    """Gives the generated source to whoever asks the module's loader for it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get_source(self, fullname: str) -> str:
        return self.source

    def is_package(self, fullname: str) -> bool:
        return False

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        code = compile(self.source, module.__file__ or "", "exec", dont_inherit=True)
        exec(code, module.__dict__)


def filename_for(name: str) -> str:
    return FILENAME_PREFIX + name + ".py"


def _alternative(name: str, attempt: int) -> str:
    # Keep PyG's "<module>_<Class>" prefix and "_propagate" suffix: PyG tells
    # a generated method by them. The "." between them cannot occur in a class
    # name, so "<module>_Conv.v2_propagate" never starts with the prefix of a
    # class "Conv_v2" ("<module>_Conv_v2"); TorchScript takes the dotted name
    # as a path of identifiers, as for any module.
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return f"{name[: -len(suffix)]}.v{attempt}{suffix}"
    return f"{name}_{attempt}"


def _reserve(name: str) -> str:
    # Without a lock: dict.setdefault claims a name atomically, also against a
    # signal handler in this thread. A name registered meanwhile is in
    # sys.modules before it leaves _reserved, so the second look finds it.
    token = object()
    candidate, attempt = name, 1
    while True:
        if candidate not in sys.modules and _reserved.setdefault(candidate, token) is token:
            if candidate not in sys.modules:
                return candidate
            del _reserved[candidate]
        attempt += 1
        candidate = _alternative(name, attempt)


def reset_after_fork() -> None:
    """In a forked child: a lock another thread held at the fork stays held."""
    global LOCK
    LOCK = threading.RLock()


def _failing_line(tb: Optional[TracebackType], filename: str) -> Optional[int]:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _line(source: str, number: Optional[int]) -> str:
    lines = source.splitlines()
    if number is None or not 1 <= number <= len(lines):
        return ""
    return lines[number - 1]


def compile_module(
    name: str,
    source: str,
    required: Sequence[str],
    namespace: Optional[Mapping[str, Any]] = None,
) -> ModuleType:
    """Executes ``source`` as a fresh module that is not yet registered.

    The module's name is reserved until :func:`shared_module` registers it or
    :func:`discard` gives it up.
    """
    final = _reserve(name)
    filename = filename_for(final)
    loader: Any = _SourceLoader(source)
    spec = importlib.machinery.ModuleSpec(final, loader, origin=filename)
    module = ModuleType(final)
    module.__dict__.update(namespace or {})
    module.__spec__ = spec
    module.__loader__ = loader
    module.__file__ = filename
    module.__package__ = spec.parent
    try:
        try:
            loader.exec_module(module)
        except SyntaxError as error:
            raise GeneratedCodeError(
                final, f"does not compile: SyntaxError: {error.msg}",
                error.lineno, _line(source, error.lineno),
            ) from error
        except Exception as error:
            pass_on(error)
            line = _failing_line(error.__traceback__, filename)
            raise GeneratedCodeError(
                final, f"fails to execute: {describe(error)}", line, _line(source, line)
            ) from error
        missing = [attr for attr in required if attr not in module.__dict__]
        if missing:
            raise GeneratedCodeError(
                final, "defines no {}".format(", ".join(missing)),
                None, "",
            )
    except BaseException:
        discard(module)
        raise
    return module


def source_of(module: ModuleType) -> str:
    source: str = module.__loader__.get_source(module.__name__)  # type: ignore[union-attr]
    return source


def _register_locked(module: ModuleType) -> None:
    source = source_of(module)
    filename = module.__file__ or ""
    # mtime None: linecache.checkcache() keeps the entry, as for any source
    # that came from a loader rather than a file.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    sys.modules[module.__name__] = module
    _reserved.pop(module.__name__, None)


def _forget(name: str, source: str) -> Optional[ModuleType]:
    """Forgets the module ``name`` built from ``source`` (it holds neither, so
    that it cannot keep them alive); returns it if it left ``sys.modules``."""
    key = _keys.pop(name, None)
    if key is not None and getattr(_shared.get(key), "__name__", None) == name:
        del _shared[key]
    module = sys.modules.get(name)
    loader = getattr(module, "__loader__", None)
    filename = filename_for(name)
    entry = linecache.cache.get(filename)
    if entry is not None and len(entry) == 4 and "".join(entry[2]) == source:
        del linecache.cache[filename]
    if module is not None and isinstance(loader, _SourceLoader) and loader.source == source:
        del sys.modules[name]
        return module
    return None


def _own_functions(namespace: Dict[str, Any]) -> List[FunctionType]:
    return [value for value in namespace.values()
            if isinstance(value, FunctionType) and value.__globals__ is namespace]


def _most_references(functions: List[FunctionType]) -> int:
    return max([sys.getrefcount(function) for function in functions], default=0)


def _baseline() -> int:
    # What _most_references counts for functions that only their namespace
    # holds, measured on this interpreter rather than assumed.
    namespace: Dict[str, Any] = {}
    exec("def unused():\n    pass\n", namespace)
    return _most_references(_own_functions(namespace))


_UNHELD = _baseline()


def discard(module: ModuleType) -> None:
    with LOCK:
        _reserved.pop(module.__name__, None)


def _registered(key: Tuple[str, str]) -> Optional[ModuleType]:
    # Only while it is still what sys.modules holds under its name: pickles of
    # its classes are looked up there.
    module = _shared.get(key)
    return module if module is not None and sys.modules.get(module.__name__) is module else None


def shared_module(name: str, source: str, required: Sequence[str],
                  namespace: Optional[Mapping[str, Any]] = None,
                  same_name: bool = False) -> ModuleType:
    """The one registered module for ``source``, built on first request.

    Identical sources share a module: a process that builds thousands of equal
    ``Sequential`` models, or makes the same layer class again and again (a
    hyper-parameter search, a notebook cell run twice), holds one module, not
    thousands. The functions in it do not depend on the class they serve.
    With ``same_name``, only requests for the same ``name`` share: a layer's
    module then keeps its class's name, as PyG tells generated methods by it.
    """
    _let_go_of_freed()
    key = (name if same_name else "", source)
    with LOCK:
        existing = _registered(key)
    if existing is not None:
        return existing
    module = compile_module(name, source, required, namespace)
    with LOCK:
        existing = _registered(key)
        if existing is not None:
            discard(module)
            return existing
        _shared[key] = module
        _keys[module.__name__] = key
        _register_locked(module)
    dump.write(module.__name__, source)
    return module


# How many live classes use each module that classes hold (by name). A module
# without holders (Sequential's) stays; one whose last holder is freed goes.
_holders: Dict[str, int] = {}
# What each holding class's weak reference stands for (weak_classes.Freed: no
# code of the shim runs inside the garbage collector). The next generation
# lets go of what was freed meanwhile.
# By id(): a metaclass's __eq__ cannot make two classes' references one key.
_holds: Dict[int, Tuple["weakref.ref[type]", str, str]] = {}
_freed = Freed()


def hold(module: ModuleType, owner: type) -> None:
    """Keeps ``module`` registered for as long as class ``owner`` lives."""
    name, source = module.__name__, source_of(module)
    with LOCK:
        key = _keys.get(name)
        if key is None and name not in sys.modules:
            # Released between shared_module() and now: registered again.
            key = (name, source)
            _shared[key] = module
            _keys[name] = key
            _register_locked(module)
        _holders[name] = _holders.get(name, 0) + 1
        reference = _freed.watch(owner)
        _holds[id(reference)] = (reference, name, source)


def _let_go_of_freed() -> None:
    """Releases the modules whose last class was freed since the last call."""
    if not _freed:
        return
    released = []
    with LOCK:
        while True:
            reference = _freed.pop()
            if reference is None:
                break
            entry = _holds.pop(id(reference), None)
            if entry is None:
                continue
            _, name, source = entry
            left = _holders.get(name, 1) - 1
            if left:
                _holders[name] = left
                continue
            _holders.pop(name, None)
            module = _forget(name, source)
            if module is not None:
                released.append(module)
    # A released module's functions and its namespace hold each other: a
    # module whose functions nothing else holds (its class is gone) is
    # emptied, which frees it now rather than at a collection of an old
    # generation, after thousands of classes have piled up.
    for module in released:
        namespace = module.__dict__
        if _most_references(_own_functions(namespace)) <= _UNHELD:
            namespace.clear()
