"""Deciding at import whether anything needs repair, and repairing once PyG loads.

Nothing here imports torch, PyG or wrapt unless the installed release is one the
shim repairs. The patches are applied from a wrapt post-import hook on
``torch_geometric``: at once if PyG is already imported, else right after it is.
"""

from __future__ import annotations

import os
import sys

from . import detect
from .report import INFO, WARNING, ShimError, describe, log
from .settings import OFF, STRICT, Settings, read_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Tuple

PACKAGE = "torch_geometric"
# Set on torch_geometric.template while patched: a second copy of the shim (or a
# reload) finds it and adopts the patches instead of stacking its own.
MARKER = "__pyg_jit_shim__"

PATCHED = "patched"  # every patch for the release is in place
PARTIAL = "partial"  # some patches did not fit this build and were skipped
FAILED = "failed"  # the release needs repair, but nothing could be applied
PENDING = "pending"  # an affected release; waiting for torch_geometric's import
UNTOUCHED = "untouched"  # a release that needs nothing
UNKNOWN = "unknown"  # cannot tell which release is installed
ABSENT = "absent"  # torch_geometric is not installed
DISABLED = "disabled"  # PYG_JIT_SHIM=off
UNPATCHED = "unpatched"  # unpatch() restored PyG's own objects


class Status:
    """What :func:`pyg_jit_shim.status` returns; read-only."""

    FIELDS = ("pyg_version", "verdict", "fixes", "skipped", "reason", "mode")
    __slots__ = FIELDS

    pyg_version: Optional[str]
    verdict: str
    fixes: Tuple[str, ...]  # ids from pyg_jit_shim.fixes.FIXES now in effect
    skipped: Tuple[str, ...]  # "<patch>: <why>" for patches that did not fit
    reason: str
    mode: str

    def __init__(self, pyg_version: Optional[str], verdict: str, fixes: Tuple[str, ...],
                 skipped: Tuple[str, ...], reason: str, mode: str) -> None:
        values = (pyg_version, verdict, tuple(fixes), tuple(skipped), reason, mode)
        for name, value in zip(self.FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Status is read-only")

    def as_dict(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Status) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return "Status({})".format(", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__slots__))


class _Record:
    __slots__ = ("fixes", "recorders", "release", "skipped")

    def __init__(self, release: str, recorders: List[Any], fixes: Tuple[str, ...],
                 skipped: Tuple[str, ...]) -> None:
        self.release = release
        self.recorders = recorders
        self.fixes = fixes
        self.skipped = skipped


class _State:
    def __init__(self) -> None:
        self.settings = Settings("auto", None, None)
        self.release: Optional[detect.Release] = None
        self.status = Status(None, UNTOUCHED, (), (), "not activated", "auto")
        self.wanted = False
        self.hooked = False
        self.lock: Any = None


_state = _State()


def _set(verdict: str, reason: str, fixes: Tuple[str, ...] = (),
         skipped: Tuple[str, ...] = ()) -> None:
    version = _state.release.version if _state.release else _state.status.pyg_version
    _state.status = Status(version, verdict, fixes, skipped, reason, _state.settings.mode)


def activate(environ: Optional[Mapping[str, str]] = None) -> Status:
    """Runs once, at ``import pyg_jit_shim``."""
    settings = read_settings(os.environ if environ is None else environ)
    _state.settings = settings
    if settings.problem:
        log(WARNING, settings.problem)
    if settings.mode == OFF:
        _set(DISABLED, "PYG_JIT_SHIM=off")
        return _state.status
    installed = detect.find_installed()
    if installed.problem:
        log(WARNING, "%s; nothing is patched", installed.problem)
        _set(UNKNOWN, installed.problem)
        return _state.status
    if installed.version is None:
        _set(ABSENT, "torch_geometric is not installed")
        return _state.status
    release = detect.classify(installed.version)
    _state.release = release
    if release.note:
        log(WARNING if release.warn else INFO, release.note)
    if release.affected is None:
        _set(UNTOUCHED, release.note or f"torch_geometric {release.version} needs no repair")
        return _state.status
    import threading

    _state.lock = threading.RLock()
    _state.wanted = True
    _set(PENDING, "patches apply when torch_geometric is imported")
    import wrapt

    _state.hooked = True
    wrapt.register_post_import_hook(_on_import, PACKAGE)
    return _state.status


def _same_release(metadata: str, runtime: Any) -> bool:
    return isinstance(runtime, str) and _release(metadata) == _release(runtime)


def _release(version: str) -> Tuple[str, ...]:
    digits = ""
    for char in version:
        if not (char.isdigit() or char == "."):
            break
        digits += char
    return tuple([*digits.strip(".").split("."), "0", "0", "0"][:3])


def _on_import(module: Any) -> None:
    with _state.lock:
        if not _state.wanted:
            return
        try:
            _patch_loaded(module)
        except ShimError:
            raise  # strict: failing the import of torch_geometric is the point
        except Exception as error:
            if _state.settings.mode == STRICT:
                raise
            log(WARNING, "could not patch torch_geometric %s: %s; it is left as it is",
                _state.release.version if _state.release else "?", describe(error))
            _set(FAILED, describe(error))


def _patch_loaded(module: Any) -> None:
    release = _state.release
    assert release is not None and release.affected is not None
    strict = _state.settings.mode == STRICT
    runtime = getattr(module, "__version__", None)
    if not _same_release(release.version, runtime):
        problem = ("the metadata says torch_geometric {} but the imported module ({}) "
                   "says {!r}: another copy on sys.path?".format(
                       release.version, getattr(module, "__file__", "?"), runtime))
        if strict:
            raise ShimError(problem)
        log(WARNING, "%s; nothing is patched", problem)
        _set(UNKNOWN, problem)
        return

    from . import targets
    from .dump import configure
    from .patching import Context
    from .registry import apply_patches

    pyg = targets.load()
    record = vars(pyg.template).get(MARKER)
    if record is None:
        configure(_state.settings.dump_dir)
        recorders, fixes, skipped = apply_patches(pyg, release.affected, Context(strict))
        record = _Record(release.affected, recorders, fixes, skipped)
        if recorders:
            setattr(pyg.template, MARKER, record)
    if not record.recorders:
        _set(FAILED, "no patch fits this build of torch_geometric", (), record.skipped)
    elif record.skipped:
        _set(PARTIAL, "some patches did not fit this build", record.fixes, record.skipped)
    else:
        repaired = f"torch_geometric {release.version} repaired to behave as 2.5.3"
        _set(PATCHED, f"{release.note}; {repaired}" if release.note else repaired, record.fixes)


def status() -> Status:
    """What the shim decided and did in this process."""
    return _state.status


def patch() -> Status:
    """Applies the repairs again after :func:`unpatch`; a no-op when in place."""
    if not _state.hooked:
        return _state.status  # nothing to repair, or switched off
    with _state.lock:
        _state.wanted = True
        module = sys.modules.get(PACKAGE)
        if module is None:
            _set(PENDING, "patches apply when torch_geometric is imported")
        else:
            _on_import(module)
    return _state.status


def unpatch() -> Status:
    """Puts PyG's own objects back. Layer classes built meanwhile keep their
    generated methods; classes built afterwards get PyG's own behaviour."""
    if not _state.hooked:
        return _state.status
    with _state.lock:
        _state.wanted = False
        template = sys.modules.get("torch_geometric.template")
        record = vars(template).get(MARKER) if template is not None else None
        if record is not None:
            for recorder in reversed(record.recorders):
                recorder.undo()
            delattr(template, MARKER)
        _set(UNPATCHED, "unpatch() restored PyG's own objects")
    return _state.status
