"""Optional copies of the generated sources, for a person to read.

Off unless ``PYG_JIT_SHIM_DUMP_DIR`` names a directory. The copies are written
and never read back: the modules that run are built from memory. Each file is
written to a temporary name and renamed into place (a reader never sees half a
file), with mode 0600, inside a directory the shim creates with mode 0700, and
no symlink is followed at the last path component of either.
"""

import itertools
import os
import threading
from typing import Iterator, Optional

from .report import WARNING, describe, log, pass_on

_directory: Optional[str] = None
# Counts failed writes; next() on it is atomic, so exactly one caller sees 0
# and warns, without a lock that a signal handler or a fork could find held.
_failures: Iterator[int] = itertools.count()


def configure(directory: Optional[str]) -> None:
    global _directory, _failures
    _directory = os.path.abspath(directory) if directory else None
    _failures = itertools.count()


def _make_directories(path: str) -> None:
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass  # made by another process meanwhile; checked on opening


def _open_directory(path: str) -> int:
    _make_directories(path)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        # O_NOFOLLOW refuses a link (the guard against being redirected); the
        # error it gives, "not a directory" or "too many links", misleads.
        if os.path.islink(path):
            raise PermissionError(
                f"{path} is a symbolic link (to {os.readlink(path)}); links are not "
                "followed there: name the directory itself") from None
        raise
    info = os.fstat(fd)
    geteuid = getattr(os, "geteuid", None)
    problem = None
    if geteuid is not None and info.st_uid != geteuid():
        problem = "it belongs to another user"
    elif info.st_mode & 0o022:
        problem = "others can write to it"
    if problem:
        os.close(fd)
        raise PermissionError(f"{path} is not a safe place for generated sources: {problem}")
    return fd


def _write(directory: str, name: str, source: str) -> None:
    fd = _open_directory(directory)
    try:
        final = name + ".py"
        temporary = f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        handle = os.open(temporary, flags, 0o600, dir_fd=fd)
        try:
            os.fchmod(handle, 0o600)  # whatever the umask
            data = source.encode("utf-8")
            while data:
                data = data[os.write(handle, data):]
        finally:
            os.close(handle)
        try:
            os.replace(temporary, final, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            os.unlink(temporary, dir_fd=fd)
            raise
    finally:
        os.close(fd)


def write(name: str, source: str) -> None:
    """Writes one generated source, if dumping is on; never raises."""
    directory = _directory
    if directory is None:
        return
    try:
        _write(directory, name, source)
    except Exception as error:  # debugging aid only: the layer must still build
        pass_on(error)
        if next(_failures) == 0:
            log(WARNING, "cannot write generated sources to %s=%s: %s; layers are "
                "built as usual, without copies", "PYG_JIT_SHIM_DUMP_DIR", directory,
                describe(error))
