"""Which PyG release is installed, read from its package metadata.

Runs at ``import pyg_jit_shim`` in every process of a service, so it imports
neither torch nor PyG, nor ``importlib.metadata`` (tens of milliseconds): it
lists the ``sys.path`` entries the way the import system would and reads one
small metadata file.
"""

from __future__ import annotations

import os
import sys

from .fixes import AFFECTED, WINDOW
from .pyg_names import PACKAGE
from .report import pass_on

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Optional, Tuple

_METADATA_FILES = {".dist-info": "METADATA", ".egg-info": "PKG-INFO"}


class Installed:
    __slots__ = ("problem", "version")

    def __init__(self, version: Optional[str], problem: Optional[str]) -> None:
        self.version = version  # None when no metadata was found
        self.problem = problem  # why the release cannot be told, when it cannot


class Release:
    __slots__ = ("affected", "note", "version", "warn")

    def __init__(self, version: str, affected: Optional[str], note: Optional[str],
                 warn: bool) -> None:
        self.version = version
        self.affected = affected  # the entry of the fix table that applies, if any
        self.note = note  # the decision taken on an unusual version string
        self.warn = warn  # whether that decision leaves a possibly broken release alone


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _metadata_entry(name: str) -> Optional[str]:
    """The metadata file inside directory ``name`` if it is PyG's, else None."""
    for suffix, filename in _METADATA_FILES.items():
        if name.endswith(suffix):
            project = name[: -len(suffix)].split("-", 1)[0]
            if _normalized(project) == PACKAGE:
                return filename
    return None


def _read_header(path: str, field: str) -> Optional[str]:
    prefix = field.lower() + ":"
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # end of the header block
                if line.lower().startswith(prefix):
                    return line[len(prefix):].strip()
    except OSError:
        return None
    return None


def _from_importlib() -> Optional[str]:
    # Only for sys.path entries that are archives, which a directory listing
    # cannot see into; rare enough to pay for importlib.metadata there.
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8 is not supported
        return None
    try:
        return metadata.version(PACKAGE)
    except Exception as error:
        pass_on(error)
        return None


def find_installed(path: Optional[Iterable[str]] = None) -> Installed:
    entries = list(sys.path if path is None else path)
    package_seen_at = None
    archives = False
    for entry in entries:
        directory = entry or os.curdir
        try:
            names = os.listdir(directory)
        except OSError:
            archives = archives or os.path.isfile(directory)
            continue
        versions = set()
        for name in names:
            filename = _metadata_entry(name)
            if filename is None:
                continue
            version = _read_header(os.path.join(directory, name, filename), "Version")
            if version:
                versions.add(version)
        if len(versions) > 1:
            return Installed(
                None,
                "{} holds metadata of several torch_geometric releases ({}); "
                "cannot tell which one is imported".format(
                    directory, ", ".join(sorted(versions))
                ),
            )
        if versions:
            return Installed(versions.pop(), None)
        if package_seen_at is None and PACKAGE in names:
            package_seen_at = directory
    if archives:
        version = _from_importlib()
        if version:
            return Installed(version, None)
    if package_seen_at is not None:
        return Installed(
            None,
            f"torch_geometric in {package_seen_at} has no package metadata; cannot tell its "
            "release",
        )
    return Installed(None, None)


def _plain_release(version: str) -> Optional[Tuple[int, ...]]:
    """The release of a version string of one to three numbers only, or None."""
    parts = version.split(".")
    if 1 <= len(parts) <= 3 and all([part.isdigit() for part in parts]):
        return leading_release(version)
    return None


def leading_release(version: str) -> Tuple[int, ...]:
    """The release a version string starts with, as three numbers: "2.5.2",
    "2.5.2+vendor1", "2.5.2.dev0" and "2.5.2rc1" all give (2, 5, 2); () where it
    does not start with a digit."""
    digits = ""
    for char in version:
        if not (char.isdigit() or char == "."):
            break
        digits += char
    parts = [int(part) if part else 0 for part in digits.strip(".").split(".") if digits]
    return _three(tuple(parts)) if parts else ()


def _three(release: Tuple[int, ...]) -> Tuple[int, ...]:
    return (*release, 0, 0, 0)[:3]


def _as_key(release: Tuple[int, ...]) -> str:
    return ".".join(str(part) for part in _three(release))


def classify(version: str) -> Release:
    """Decides which fixes, if any, apply to ``version``."""
    plain = _plain_release(version)
    if plain is not None:
        key = _as_key(plain)
        return Release(version, key if key in AFFECTED else None, None, False)

    # Unusual strings only: packaging costs more to import than all of the above.
    from packaging.version import InvalidVersion, Version

    try:
        parsed = Version(version)
    except InvalidVersion:
        return Release(
            version, None,
            f"torch_geometric version {version!r} is not a valid version; left "
            "untouched", True,
        )
    key = _as_key(parsed.release)
    # Whether the string names something between the first broken release and
    # the fixed one, where leaving it alone may leave a broken generator.
    near = WINDOW[0] <= _three(parsed.release) <= WINDOW[1]
    if parsed.epoch or len(parsed.release) > 3:
        note = f"torch_geometric {version} is not a release this shim knows; left untouched"
        return Release(version, None, note, near)
    if parsed.is_prerelease:
        note = (
            f"torch_geometric {version} is a pre-release or development build of {key}; its "
            "generator code is unknown, so it is left untouched"
        )
        return Release(version, None, note, near)
    if key in AFFECTED:
        # Post releases and local builds (+cpu, +vendor) keep the release's code;
        # any fix whose target does not look as expected is skipped on its own.
        note = f"torch_geometric {version} is treated as {key}"
        return Release(version, key, note, False)
    return Release(version, None, None, False)
