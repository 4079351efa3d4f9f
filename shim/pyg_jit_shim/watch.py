"""Calls back right after a package is imported, however it reaches ``sys.path``.

A finder first on ``sys.meta_path`` asks the other finders for the package's
spec and wraps its loader, so that the callback runs once the package's
``__init__`` has executed, inside the same import. Until then it costs one
string comparison per import; wrapt is not needed for it (importing wrapt costs
more than the rest of ``import pyg_jit_shim`` together).

The callback decides whether the finder stays: it stays while the callback
raises, so that under ``strict`` every later attempt to import the package is
refused too, not only the first one.
"""

from __future__ import annotations

import sys
import threading

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
        self._loader.exec_module(module)
        self._watcher.imported(module)


class Watcher:
    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self._callback = callback
        self._local = threading.local()

    def start(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

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
        if fullname != self.name or getattr(self._local, "busy", False):
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
