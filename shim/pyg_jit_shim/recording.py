"""Replacing attributes of PyG's objects so that they can be put back."""

from typing import Any, Callable, List, Optional, Tuple

_MISSING = object()


class Recorder:
    """Remembers every attribute a patch replaces, to restore PyG's own.

    A change is recorded before it is made, and undoing or redoing only sets
    attributes: both can be repeated and can finish what an interrupted one
    began (an exception from a signal handler, or a fork while another thread
    was changing the patches).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        # (owner, attribute, original, value), or (a list, None, _MISSING, item)
        # for an item added to a list (a finder on sys.meta_path).
        self._changes: List[Tuple[Any, Optional[str], Any, Any]] = []

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        # vars(), not getattr(): a class's own entry (function, property), not
        # one inherited or bound.
        original = vars(owner).get(attribute, _MISSING)
        self._changes.append((owner, attribute, original, value))
        try:
            setattr(owner, attribute, value)
        except BaseException:
            # Refused (a read-only attribute): nothing to undo. But an exception
            # from a signal handler may arrive just after the attribute was
            # set: that change stays recorded, so that it is taken back.
            if vars(owner).get(attribute, _MISSING) is not value:
                self._changes.pop()
            raise

    def add(self, items: List[Any], item: Any) -> None:
        """Appends ``item`` to the list ``items`` (once)."""
        self._changes.append((items, None, _MISSING, item))
        if item not in items:
            items.append(item)

    def wrap(self, owner: Any, attribute: str, wrapper: Callable[..., Any]) -> Any:
        import wrapt

        wrapped = wrapt.FunctionWrapper(vars(owner)[attribute], wrapper)  # type: ignore[attr-defined]
        self.replace(owner, attribute, wrapped)
        return wrapped

    def undo(self) -> None:
        for owner, attribute, original, value in reversed(self._changes):
            if attribute is None:
                if value in owner:
                    owner.remove(value)
            elif original is not _MISSING:
                setattr(owner, attribute, original)
            elif attribute in vars(owner):
                delattr(owner, attribute)

    def redo(self) -> None:
        for owner, attribute, _, value in self._changes:
            if attribute is None:
                if value not in owner:
                    owner.append(value)
            else:
                setattr(owner, attribute, value)
