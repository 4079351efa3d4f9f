"""Per-class bookkeeping that neither keeps classes alive nor runs code when
one is freed.

``weakref.WeakSet`` and ``WeakKeyDictionary`` run a Python callback inside the
garbage collector whenever a class dies. There Python drops a signal handler's
exception, and another thread may run in the middle of C code that does not
expect it (CPython 3.11's ``ast.parse``, which PyG's inspector and TorchScript
call, then raises ``SystemError``). Here a freed class's reference is appended
to a list by the builtin ``list.append``; entries are dropped on the next use.
"""

import weakref
from typing import Dict, Generic, List, Optional, Tuple, TypeVar

V = TypeVar("V")


class Freed:
    """Weak references to classes, each queued here once its class is freed."""

    def __init__(self) -> None:
        self._queue: List[weakref.ref[type]] = []

    def watch(self, cls: type) -> "weakref.ref[type]":
        return weakref.ref(cls, self._queue.append)

    def __bool__(self) -> bool:
        return bool(self._queue)

    def pop(self) -> "Optional[weakref.ref[type]]":
        """The reference of a class freed meanwhile, or None."""
        try:  # not `if self._queue`: another thread or a handler may empty it in between
            return self._queue.pop()
        except IndexError:
            return None


class ClassMap(Generic[V]):
    """A mapping from live classes to values, by identity."""

    def __init__(self) -> None:
        # id(class) -> (its reference, value); id(reference) -> id(class).
        self._entries: Dict[int, Tuple[weakref.ref[type], V]] = {}
        self._classes: Dict[int, int] = {}
        self._freed = Freed()

    def _forget_freed(self) -> None:
        while True:
            reference = self._freed.pop()
            if reference is None:
                return
            key = self._classes.pop(id(reference), None)
            entry = self._entries.get(key) if key is not None else None
            if key is not None and entry is not None and entry[0] is reference:
                self._entries.pop(key, None)

    def get(self, cls: type) -> Optional[V]:
        self._forget_freed()
        entry = self._entries.get(id(cls))
        return entry[1] if entry is not None and entry[0]() is cls else None

    def setdefault(self, cls: type, value: V) -> V:
        found = self.get(cls)
        if found is not None:
            return found
        reference = self._freed.watch(cls)
        self._classes[id(reference)] = id(cls)
        self._entries[id(cls)] = (reference, value)
        return value


class ClassSet:
    """A set of live classes, by identity."""

    def __init__(self) -> None:
        self._map: ClassMap[bool] = ClassMap()

    def add(self, cls: type) -> None:
        self._map.setdefault(cls, True)

    def update(self, classes: "List[type]") -> None:
        for cls in classes:
            self.add(cls)

    def __contains__(self, cls: object) -> bool:
        return isinstance(cls, type) and self._map.get(cls) is not None
