"""Replacing attributes of PyG's objects so that they can be put back."""

import inspect
from typing import Any, Callable, List, NamedTuple, Tuple

_MISSING = object()


def parameter_names(function: Any) -> Tuple[str, ...]:
    """The parameter names of ``function``; empty if it is not a function."""
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


class Recorder:
    """Remembers every attribute a patch replaces, to restore PyG's own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._changes: List[Tuple[Any, str, Any]] = []
        self._on_undo: List[Callable[[], None]] = []

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        # vars(), not getattr(): a class's own entry (function, property), not
        # one inherited or bound.
        original = vars(owner).get(attribute, _MISSING)
        setattr(owner, attribute, value)
        self._changes.append((owner, attribute, original))

    def wrap(self, owner: Any, attribute: str, wrapper: Callable[..., Any]) -> Any:
        import wrapt

        wrapped = wrapt.FunctionWrapper(vars(owner)[attribute], wrapper)  # type: ignore[attr-defined]
        self.replace(owner, attribute, wrapped)
        return wrapped

    def on_undo(self, callback: Callable[[], None]) -> None:
        """``callback`` runs when the patch is undone, before PyG's objects return."""
        self._on_undo.append(callback)

    def undo(self) -> None:
        while self._on_undo:
            self._on_undo.pop()()
        while self._changes:
            owner, attribute, original = self._changes.pop()
            if original is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


class Context(NamedTuple):
    strict: bool
