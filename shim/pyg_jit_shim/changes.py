"""Applying and undoing the patches: one change at a time, and nobody waits.

``patch()``, ``unpatch()`` and the import of ``torch_geometric`` each state
what they want, then try to become the one thread that changes PyG's objects
(:func:`claim`). The claim is not a lock: nobody waits for it. A thread that
finds it taken returns at once, and the thread that holds it carries out
every request made meanwhile before it lets go. So no lock is held and no
thread waits while PyG's code, an import, a user's handler or a layer runs,
and a signal handler that calls ``patch()`` inside ``unpatch()`` cannot
deadlock: its request is carried out when the interrupted call resumes.

Every change is recorded before it is made (:class:`~.recording.Recorder`), so
that it can be finished or taken back from any point:

* an exception from a signal handler (``KeyboardInterrupt``, a timeout) takes
  back a partial apply and finishes a partial undo, then reaches the caller;
* a child forked while another thread was changing the patches (a thread the
  child does not have) returns to the state from before that change.

The shim's code leaves no generator unfinished (``any([...])``, not
``any(...)``): Python drops a handler's exception raised while it closes one.
"""

from __future__ import annotations

import sys
import threading

from .pyg_names import TEMPLATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    from .pyg_objects import PyG
    from .recording import Recorder

# Set on torch_geometric.template while patched: a second copy of the shim (or a
# reload) finds it and adopts the patches instead of stacking its own.
MARKER = "__pyg_jit_shim__"

# Changes carried out in a forked child's repair.
TAKEN_BACK = "taken back"  # a partial apply: the child is as before patch()
RESTORED = "restored"  # a partial undo: the child is as before unpatch()


class Record:
    """The patches in place on one torch_geometric."""

    __slots__ = ("fixes", "recorders", "release", "skipped")

    def __init__(self, release: str) -> None:
        self.release = release
        self.recorders: List[Recorder] = []
        self.fixes: Tuple[str, ...] = ()
        self.skipped: Tuple[str, ...] = ()


# "owner" -> (a token of the call that holds the claim, its thread). A call's
# token is its own: a signal handler's call in the same thread cannot take or
# give back the claim of the call it interrupted.
_claim: Dict[str, Tuple[object, int]] = {}
# The change under way: ("apply" or "undo", its record); at most one.
_in_flight: List[Tuple[str, Record]] = []


def token() -> Tuple[object, int]:
    return (object(), threading.get_ident())


def claim(mine: Tuple[object, int]) -> bool:
    """Whether ``mine`` holds the claim now; never waits (dict.setdefault is atomic)."""
    return _claim.setdefault("owner", mine) is mine


def let_go(mine: Tuple[object, int]) -> None:
    # Only the holder's token is ever stored, so it cannot change in between.
    if _claim.get("owner") is mine:
        _claim.pop("owner", None)


def current(template: Any) -> Optional[Record]:
    record = vars(template).get(MARKER) if template is not None else None
    # hasattr, not isinstance: the record of another copy of the shim is adopted too.
    return record if hasattr(record, "recorders") else None


def apply(pyg: PyG, release: str, strict: bool) -> Record:
    """Applies the patches for ``release``, all or none: any exception takes back
    what was applied before it reaches the caller."""
    from .applying import apply_patches

    record = Record(release)
    _in_flight[:] = [("apply", record)]
    try:
        record.fixes, record.skipped = apply_patches(pyg, release, strict, record.recorders)
        if record.recorders:
            setattr(pyg.template, MARKER, record)
    except BaseException:
        _undo(record)
        raise
    finally:
        del _in_flight[:]
    return record


def undo(record: Record) -> None:
    """Puts PyG's own objects back; an exception meanwhile finishes the undo first."""
    _in_flight[:] = [("undo", record)]
    try:
        _undo(record)
    except BaseException:
        _undo(record)
        raise
    finally:
        del _in_flight[:]


def _undo(record: Record) -> None:
    """Undoes every change of ``record`` (also a partial apply's); repeatable."""
    for recorder in reversed(record.recorders):
        recorder.undo()
    template = sys.modules.get(TEMPLATE)
    if template is not None and vars(template).get(MARKER) is record:
        delattr(template, MARKER)


def after_fork_in_child() -> Optional[str]:
    """Repairs what a change under way in another thread left at the fork.

    Only sets attributes: it imports nothing and takes no lock, which another
    thread may have held at the fork. Returns :data:`TAKEN_BACK`,
    :data:`RESTORED` or None (nothing was under way elsewhere).
    """
    owner = _claim.get("owner")
    if owner is None or owner[1] == threading.get_ident():
        return None  # no change, or the forking thread's own: it goes on in the child
    _claim.clear()
    if not _in_flight:
        return None
    kind, record = _in_flight[0]
    del _in_flight[:]
    template = sys.modules.get(TEMPLATE)
    marked = template is not None and vars(template).get(MARKER) is record
    if kind == "apply" and not marked:
        _undo(record)
        return TAKEN_BACK
    if kind == "undo" and marked:
        for recorder in record.recorders:
            recorder.redo()
        return RESTORED
    return None  # the change was complete
