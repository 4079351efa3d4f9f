"""Calls back right after a package is imported, however it reaches ``sys.path``.

A finder first on ``sys.meta_path`` asks the other finders for the package's
spec and wraps its loader, so that the callback runs once the package's
``__init__`` has executed, inside the same import. Until then it costs one
string comparison per import; wrapt is not needed for it (importing wrapt costs
more than the rest of ``import pyg_jit_shim`` together).

The callback decides whether the finder stays: it stays while the callback
raises, so that under ``strict`` every later attempt to import the package is
refused too, not only the first one.

An import that is already under way when the finder is added (another thread
executing the package's ``__init__``) had its loader before: the finder
cannot see it. Its spec can: the import system sets
``spec._initializing = False`` as its last step, success or failure, in the
importing thread. The spec of such a package gets a subclass of its own for
that moment, whose setter runs the callback if the package is then in
``sys.modules``, and gives the spec back its own class. Nothing waits for the
import; the thread that finishes it does the work, as with the finder.
"""

from __future__ import annotations

import sys
import threading
from importlib.machinery import ModuleSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Callable, Optional, Sequence


class _LegacyLoader:
    """The package's own loader (``load_module`` only, as Python 3.8's
    zipimporter), and the callback after it has executed."""

    def __init__(self, loader: Any, watcher: Watcher) -> None:
        self._loader = loader
        self._watcher = watcher

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def load_module(self, fullname: str) -> ModuleType:
        module: ModuleType = self._loader.load_module(fullname)
        self._watcher.imported(module)
        return module


class _Loader(_LegacyLoader):
    """The package's own loader, and the callback after it has executed."""

    def create_module(self, spec: Any) -> Optional[ModuleType]:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps no trace of the watcher: its loader is its own.
        module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        own = vars(spec) if spec is not None else {}
        own[_WRAPPED] = True  # this import's end is seen here: no hook needed
        try:
            self._loader.exec_module(module)
        finally:
            own.pop(_WRAPPED, None)
        self._watcher.imported(module)


class _Completing(ModuleSpec):
    """A spec whose package's import is under way, until that import ends."""

    @property
    def _initializing(self) -> bool:
        return bool(self.__dict__.get("_initializing", False))

    @_initializing.setter
    def _initializing(self, value: bool) -> None:
        state = self.__dict__
        state["_initializing"] = value
        if value:
            return
        self.__class__ = ModuleSpec  # type: ignore[assignment]
        watcher = state.pop(_HOOK, None)
        module = sys.modules.get(self.name)
        if watcher is not None and getattr(module, "__spec__", None) is self:
            watcher.imported(module)


_HOOK = "_pyg_jit_shim_watcher"
_WRAPPED = "_pyg_jit_shim_wrapped"


def initializing(module: Any) -> bool:
    """Whether ``module`` is still being imported (in any thread)."""
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


class Watcher:
    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self._callback = callback
        self._local = threading.local()

    def start(self) -> bool:
        """Watches for the package; False if an import of it is under way and
        its end cannot be seen (the callback will not run for that one)."""
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)
        return self._follow(sys.modules.get(self.name))

    def _follow(self, module: Any) -> bool:
        """Runs the callback when an import of ``module`` under way ends."""
        if module is None or not initializing(module):
            return True
        spec = module.__spec__
        if type(spec) is _Completing or _WRAPPED in vars(spec):
            return True
        if type(spec) is not ModuleSpec or "_initializing" not in vars(spec):
            return False
        vars(spec)[_HOOK] = self
        spec.__class__ = _Completing
        return True

    def stop(self) -> None:
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    def imported(self, module: ModuleType) -> None:
        # An exception propagates into the import statement; the finder stays.
        self._callback(module)
        self.stop()

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Any:
        if not fullname.startswith(self.name):
            return None
        if fullname != self.name:
            # A submodule: the package may be under way since before start().
            if fullname.startswith(self.name + "."):
                self._follow(sys.modules.get(self.name))
            return None
        if getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            spec = None
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._local.busy = False
        if spec is None:
            return None
        if hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader, self)
        elif hasattr(spec.loader, "load_module"):
            spec.loader = _LegacyLoader(spec.loader, self)
        return spec
