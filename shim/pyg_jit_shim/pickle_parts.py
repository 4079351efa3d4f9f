"""Parts of a pickle that load with the standard library alone, and copying as
Python does it by default.

A ``Sequential`` pickled by the shim loads by calling PyG's ``Sequential()``,
which draws ``random.randrange`` for a module name. Loading it must not move a
seeded program's random numbers (PyG alone draws nothing when it loads a
pickle in the process that wrote it), so the pickle takes
``random.getstate()`` before that call and gives it back with
``random.setstate()`` after the rest of the model is loaded
(:func:`random_neutral`).
Each piece pickles as a call of a standard-library function (``getattr``,
``operator.getitem``, ``importlib.import_module``): the pickle still loads
where the shim is not installed.
"""

from __future__ import annotations

import copy
import importlib
import operator
from typing import Any, Dict, Optional, Tuple


class _Call:
    """Pickles as ``function(*arguments)``; never called here."""

    def __init__(self, function: Any, *arguments: Any) -> None:
        self._reduced = (function, arguments)

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return self._reduced

    def __call__(self, *arguments: Any) -> Any:  # pickle asks that a reduced callable be callable
        raise TypeError("a part of a pickle, not to be called")


def _random(name: str) -> _Call:
    # random.getstate is a bound method of the module's hidden Random instance:
    # pickled as it is, it would carry a copy of that instance. Looked up by
    # name at load time, it is the loading process's own generator.
    return _Call(getattr, _Call(importlib.import_module, "random"), name)


def random_neutral(argument: Any, state: Any) -> Tuple[Any, Any]:
    """``argument`` (one of a reduce tuple's arguments, loaded before its call)
    and ``state`` (loaded after it), each to be pickled in its place: the call
    in between draws nothing from the program's random numbers.

    ``random.getstate()`` runs as ``argument`` loads and ``random.setstate()``
    once ``state`` has. In between, ``random.seed()`` seeds from the operating
    system: given the program's state back each time, every load would draw
    the same name, and PyG's own generator hands a module name it has seen
    the module built first (a pickle loaded where the shim is not active)."""
    saved = _Call(_random("getstate"))
    reseed = _Call(_random("seed"))
    # pickle writes `saved` once and then refers to it: setstate gets that state.
    restore = _Call(_random("setstate"), saved)
    return (_Call(operator.getitem, (saved, reseed, argument), 2),
            _Call(operator.getitem, (state, restore), 0))


def copied(obj: Any, memo: Optional[Dict[int, Any]]) -> Any:
    """What ``copy.copy`` (``memo`` None) or ``copy.deepcopy`` does for ``obj``
    when its class defines neither ``__copy__``/``__deepcopy__`` nor its own
    ``__reduce_ex__``: ``object.__reduce_ex__``'s recipe, carried out as
    ``copy`` carries it out."""
    recipe: Any = object.__reduce_ex__(obj, 4)  # a tuple for any class
    function, arguments, state = recipe[:3]
    deep = memo is not None
    if deep:
        arguments = copy.deepcopy(arguments, memo)
    duplicate = function(*arguments)
    if deep:
        assert memo is not None
        memo[id(obj)] = duplicate
    if state is not None:
        if deep:
            state = copy.deepcopy(state, memo)
        setstate = getattr(duplicate, "__setstate__", None)
        if setstate is not None:
            setstate(state)
        else:
            duplicate.__dict__.update(state)
    return duplicate
