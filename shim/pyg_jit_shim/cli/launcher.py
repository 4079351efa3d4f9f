"""``pyg-jit-shim run -- CMD``: an unmodified program, shim active from its first line."""

import os
import signal
import sys
from typing import Dict, List, Mapping

from . import _bootstrap

# As a shell answers: found but cannot be run, and not found.
NOT_EXECUTABLE = 126
NOT_FOUND = 127


def environment(environ: Mapping[str, str]) -> Dict[str, str]:
    """``environ`` with the bootstrap first on PYTHONPATH, once: a ``run``
    inside ``run`` (or another install's bootstrap) adds no second entry."""
    given = environ.get("PYTHONPATH", "")
    # Empty entries stay: in PYTHONPATH they stand for the working directory.
    existing = [entry for entry in (given.split(os.pathsep) if given else [])
                if not (entry and _bootstrap.holds_bootstrap(entry))]
    env = dict(environ)
    env["PYTHONPATH"] = os.pathsep.join([_bootstrap.DIRECTORY, *existing])
    return env


def _default_signals() -> None:
    # Python ignores SIGPIPE and SIGXFSZ, and an exec'd program inherits
    # ignored signals: without this, `run -- sh -c 'yes | head -n1'` would
    # make `yes` report a broken pipe instead of ending quietly.
    for name in ("SIGPIPE", "SIGXFSZ"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_DFL)


def run(command: List[str]) -> int:
    """Replaces this process with ``command``: its exit status is the program's."""
    env = environment(os.environ)
    _default_signals()
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        sys.stderr.write(f"pyg-jit-shim: cannot run {command[0]!r}: {error.strerror}\n")
        missing = isinstance(error, (FileNotFoundError, NotADirectoryError))
        return NOT_FOUND if missing else NOT_EXECUTABLE
    return 0  # pragma: no cover - execvpe does not return
