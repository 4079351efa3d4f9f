"""Deciding whether anything needs repair, and repairing once PyG loads.

At ``import pyg_jit_shim`` the release is read from package metadata: a cheap
forecast for ``status()``. The decision is taken when ``torch_geometric`` is
imported (at once if it already is), on the ``__version__`` of the module that
was actually imported: PyG may reach ``sys.path`` only later, a copy without
metadata may shadow an installed release, metadata may be stale. Nothing here
imports torch, PyG or wrapt unless the imported release is one the shim repairs.

Requests (activation, the import, ``patch()``, ``unpatch()``) are carried out
as :mod:`pyg_jit_shim.changes` describes: by one thread at a time, with no
lock held and nobody waiting.
"""

from __future__ import annotations

import os
import sys

from . import changes, detect
from .pyg_names import PACKAGE, TEMPLATE
from .report import INFO, WARNING, ShimError, describe, log, pass_on
from .settings import OFF, STRICT, Settings, read_settings
from .status import (
    ABSENT,
    DISABLED,
    FAILED,
    PARTIAL,
    PATCHED,
    PENDING,
    UNKNOWN,
    UNPATCHED,
    UNTOUCHED,
    Status,
)
from .watch import Watcher, initializing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional, Tuple

MARKER = changes.MARKER

class _State:
    def __init__(self) -> None:
        self.settings = Settings("auto", None, None)
        self.installed = detect.Installed(None, None)  # the metadata's forecast
        self.release: Optional[detect.Release] = None  # what the decision rests on
        self.status = Status(None, UNTOUCHED, (), (), "not activated", "auto")
        self.wanted = False  # False after unpatch(): PyG is to be left alone
        # A torch_geometric whose import has executed, not yet decided on
        # (its import system flag still says "initializing").
        self.pending: Any = None
        self.decided: Any = None  # the torch_geometric decided on, while wanted
        self.watcher: Optional[Watcher] = None


_state = _State()


def _set(verdict: str, reason: str, fixes: Tuple[str, ...] = (),
         skipped: Tuple[str, ...] = ()) -> None:
    release = _state.release
    version = release.version if release else _state.installed.version
    # One new object, one reference swapped: a reader never sees half a status.
    _state.status = Status(version, verdict, fixes, skipped, reason, _state.settings.mode)


def activate(environ: Optional[Mapping[str, str]] = None) -> Status:
    """Runs at ``import pyg_jit_shim``."""
    settings = read_settings(os.environ if environ is None else environ)
    _state.settings = settings
    if settings.problem:
        log(WARNING, settings.problem)
    _state.installed = detect.find_installed()
    _state.release = None
    if settings.mode == OFF:
        _stop_watching()
        _state.wanted = False
        _set(DISABLED, "PYG_JIT_SHIM=off")
        return _state.status
    _state.wanted = True
    _state.decided = None
    _forecast(log_note=True)
    _watch()
    _converge()
    return _state.status


def _forecast(log_note: bool) -> None:
    """The status until torch_geometric is imported, from its metadata."""
    installed = _state.installed
    if installed.problem:
        _set(UNKNOWN, f"{installed.problem}; decided when torch_geometric is imported")
        return
    if installed.version is None:
        _set(ABSENT, "torch_geometric is not installed")
        return
    release = detect.classify(installed.version)
    _state.release = release
    if release.note and log_note:
        log(WARNING if release.warn else INFO, release.note)
    if release.affected is None:
        _set(UNTOUCHED, release.note or f"torch_geometric {release.version} needs no repair")
    else:
        _set(PENDING, "patches apply when torch_geometric is imported")


def _complete() -> Any:
    """The imported torch_geometric, once its import has executed; else None."""
    module = sys.modules.get(PACKAGE)
    if module is None or (initializing(module) and module is not _state.pending):
        return None
    return module


def _watch() -> None:
    """Makes sure a torch_geometric imported later, or still being imported by
    another thread, is decided on once its import has executed."""
    module = sys.modules.get(PACKAGE)
    if module is not None and not initializing(module):
        return
    if _state.watcher is None:
        _state.watcher = Watcher(PACKAGE, _on_import)
    if not _state.watcher.start():
        log(WARNING, "torch_geometric is being imported by another thread, and the end of "
            "that import cannot be seen on this Python; call pyg_jit_shim.patch() once it "
            "is imported, before building layers")


def _stop_watching() -> None:
    if _state.watcher is not None:
        _state.watcher.stop()


def _on_import(module: Any) -> None:
    """In the thread whose import of torch_geometric has just executed."""
    if not _state.wanted:
        return
    _state.pending = module
    _converge()


def _converge() -> None:
    """Carries out what is wanted, unless another call is doing so (it then
    carries out this request too, before it returns)."""
    mine = changes.token()
    try:
        while changes.claim(mine):
            try:
                while not _settled():
                    _step()
            finally:
                changes.let_go(mine)
            # A request made just before the claim was let go found it taken.
            if _settled():
                return
    finally:
        changes.let_go(mine)  # an exception between the claim and the try


def _settled() -> bool:
    if not _state.wanted:
        return (_state.decided is None and _state.status.verdict not in (PENDING, FAILED)
                and changes.current(sys.modules.get(TEMPLATE)) is None)
    module = _complete()
    return module is None or _state.decided is module


def _step() -> None:
    try:
        _carry_out()
    finally:
        # Also after an exception from a signal handler: the status says what
        # PyG's objects are.
        _reconcile()


def _reconcile() -> None:
    record = changes.current(sys.modules.get(TEMPLATE))
    verdict = _state.status.verdict
    if record is not None and verdict not in (PATCHED, PARTIAL):
        _set_applied(record, _state.release)
    elif record is None and verdict in (PATCHED, PARTIAL):
        _set(UNPATCHED, "unpatch() restored PyG's own objects" if not _state.wanted else
             "interrupted while applying the patches: PyG's own objects are in place; "
             "pyg_jit_shim.patch() applies them")


def _carry_out() -> None:
    if not _state.wanted:
        record = changes.current(sys.modules.get(TEMPLATE))
        if record is not None:
            changes.undo(record)
        _state.decided = None
        if record is not None or _state.status.verdict in (PENDING, FAILED):
            _set(UNPATCHED, "unpatch() restored PyG's own objects")
        return
    module = _complete()
    strict = _state.settings.mode == STRICT
    try:
        _decide(module, strict)
    except ShimError as error:
        # strict: this import fails, and so does every later attempt (the
        # watcher stays), each with this reason.
        _set(FAILED, str(error))
        _decided(module)
        raise
    except Exception as error:
        pass_on(error)  # undecided: the next request decides
        _set(FAILED, describe(error))
        _decided(module)
        if strict:
            raise
        log(WARNING, "could not patch torch_geometric %s: %s; it is left as it is",
            _state.status.pyg_version or "?", describe(error))
        return
    _decided(module)


def _decided(module: Any) -> None:
    _state.decided = module
    if _state.pending is module:
        _state.pending = None


def _refuse(problem: str, strict: bool) -> None:
    if strict:
        raise ShimError(problem)
    log(WARNING, "%s; nothing is patched", problem)
    _set(UNKNOWN, problem)


def _decide(module: Any, strict: bool) -> None:
    """Repairs the imported torch_geometric if its own __version__ calls for it."""
    installed = _state.installed
    where = getattr(module, "__file__", None) or "?"
    runtime = getattr(module, "__version__", None)
    if not isinstance(runtime, str) or not runtime.strip():
        if _state.release is not None and _state.release.affected is None:
            return  # the metadata's "needs nothing" stands; nothing is at stake
        _refuse(f"the imported torch_geometric ({where}) has no __version__ and its "
                "release cannot be told from package metadata either"
                if _state.release is None else
                f"the metadata says torch_geometric {installed.version} but the imported "
                f"module ({where}) has no __version__ to confirm it", strict)
        return
    forecast = _state.release
    same = detect.leading_release(installed.version or "") == detect.leading_release(runtime)
    if forecast is not None and installed.version is not None and same:
        # The same release: the metadata's string says more ("2.5.2+vendor1",
        # "2.5.2.dev0") than a __version__ that vendors rarely change.
        release = forecast
    else:
        release = detect.classify(runtime)
        if release.note:
            log(WARNING if release.warn else INFO, release.note)
    _state.release = release
    if installed.version is not None and not same:
        problem = (f"the metadata says torch_geometric {installed.version} but the imported "
                   f"module ({where}) says {runtime!r}: another copy on sys.path? The "
                   "imported code decides")
        if strict:
            raise ShimError(problem)
        log(WARNING, problem)
    elif installed.version is None and release.affected is not None:
        # Not a warning: the imported code names its release, which is repaired.
        log(INFO, "%s; the imported module (%s) says %r",
            installed.problem or "no package metadata of torch_geometric on sys.path",
            where, runtime)
    if release.affected is None:
        _set(UNTOUCHED, release.note or f"torch_geometric {release.version} needs no repair")
        return
    _patch_loaded(release, strict)


def _patch_loaded(release: detect.Release, strict: bool) -> None:
    from . import pyg_objects
    from .dump import configure

    assert release.affected is not None
    pyg = pyg_objects.load()
    record = changes.current(pyg.template)
    if record is None:
        configure(_state.settings.dump_dir)
        record = changes.apply(pyg, release.affected, strict)
    _set_applied(record, release)


def _set_applied(record: changes.Record, release: Optional[detect.Release]) -> None:
    if not record.recorders:
        _set(FAILED, "no patch fits this build of torch_geometric", (), record.skipped)
    elif record.skipped:
        _set(PARTIAL, "some patches did not fit this build", record.fixes, record.skipped)
    else:
        from .fixes import FIXES

        beyond = [fix.id for fix in FIXES if fix.fixed_in and fix.id in record.fixes]
        version = release.version if release else "?"
        repaired = f"torch_geometric {version} repaired to behave as 2.5.3"
        if beyond:
            repaired += ", with PyG 2.6's {}".format(", ".join(beyond))
        note = release.note if release else None
        _set(PATCHED, f"{note}; {repaired}" if note else repaired, record.fixes)


def status() -> Status:
    """What the shim decided and did in this process."""
    return _state.status


def patch() -> Status:
    """Applies the repairs again after :func:`unpatch`; a no-op when in place.

    Never waits: a construction under way in another thread finishes as it
    began. Called while another thread is changing the patches, the request
    is carried out by that thread before its call returns."""
    if _state.settings.mode == OFF:
        return _state.status
    _state.wanted = True
    if PACKAGE not in sys.modules:
        _state.release = None
        _forecast(log_note=False)
    _watch()
    _converge()
    return _state.status


def unpatch() -> Status:
    """Puts PyG's own objects back and stops watching for torch_geometric.
    Layer classes built meanwhile keep their generated methods; classes built
    afterwards get PyG's own behaviour. Never waits, as :func:`patch`."""
    if _state.settings.mode == OFF:
        return _state.status
    _state.wanted = False
    _stop_watching()
    _converge()
    return _state.status


def _after_fork_in_child() -> None:
    # Runs first in a forked child, before any other code there: sets
    # attributes only (see changes.after_fork_in_child).
    generated = sys.modules.get(__package__ + ".modules")
    if generated is not None:
        generated.reset_after_fork()
    if changes.after_fork_in_child() == changes.TAKEN_BACK:
        _state.decided = None
        if _state.status.verdict not in (PATCHED, PARTIAL):
            _set(UNPATCHED, "forked while another thread was applying the patches: this "
                 "process runs PyG's own code; pyg_jit_shim.patch() applies them")
    _reconcile()  # also where the fork came between a change and its status


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
