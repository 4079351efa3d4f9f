"""What :func:`pyg_jit_shim.status` returns: the verdicts and their record."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Tuple

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
