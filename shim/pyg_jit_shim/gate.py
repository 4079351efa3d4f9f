"""Keeps ``patch()``/``unpatch()`` from changing PyG's objects under a layer
that is being built.

Constructions enter side by side and never wait for each other; a change of
the patches waits until the constructions in flight in other threads are done,
and constructions that start meanwhile wait for the change, then go before the
next change (patch() and unpatch() in a loop cannot starve them). So each
construction sees PyG's objects either all patched or all as PyG made them.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and contextlib cost more than the rest of the import
    from typing import Any, Dict, Optional

_condition = threading.Condition(threading.Lock())
_building: Dict[int, int] = {}  # thread id -> constructions it has in flight
_changer: Optional[int] = None  # the thread changing the patches
_waiting = 0  # constructions waiting for a change to end


def _others_building(me: int) -> bool:
    return any(count for thread, count in _building.items() if thread != me)


class _Building:
    def __enter__(self) -> None:
        global _waiting
        me = threading.get_ident()
        with _condition:
            # A thread that is changing the patches may build (its own hook code).
            if _changer is not None and _changer != me:
                _waiting += 1
                while _changer is not None and _changer != me:
                    _condition.wait()
                _waiting -= 1
                _condition.notify_all()
            _building[me] = _building.get(me, 0) + 1

    def __exit__(self, *exc: Any) -> None:
        me = threading.get_ident()
        with _condition:
            _building[me] -= 1
            if not _building[me]:
                del _building[me]
            _condition.notify_all()


class _Changing:
    def __init__(self) -> None:
        self._outer: Optional[int] = None

    def __enter__(self) -> None:
        global _changer
        me = threading.get_ident()
        with _condition:
            # The caller's own constructions in flight (patch() called from a
            # layer's __init__) cannot finish first: they are not waited for;
            # nor does a change made within a change.
            while _changer != me and (_changer is not None or _waiting
                                      or _others_building(me)):
                _condition.wait()
            self._outer, _changer = _changer, me

    def __exit__(self, *exc: Any) -> None:
        global _changer
        with _condition:
            _changer = self._outer
            _condition.notify_all()


def building() -> _Building:
    """Around a construction (and a restore) of a layer."""
    return _Building()


def changing() -> _Changing:
    """Around applying or undoing the patches."""
    return _Changing()
