"""``pyg-jit-shim run -- CMD``: an unmodified program, shim active from its first line."""

import os
import sys
from typing import Dict, List, Mapping

from . import _bootstrap


def environment(environ: Mapping[str, str]) -> Dict[str, str]:
    bootstrap = os.path.dirname(os.path.abspath(_bootstrap.__file__))
    existing = environ.get("PYTHONPATH", "")
    env = dict(environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (bootstrap, existing) if p)
    return env


def run(command: List[str]) -> int:
    """Replaces this process with ``command``: its exit status is the program's."""
    env = environment(os.environ)
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        sys.stderr.write(f"pyg-jit-shim: cannot run {command[0]!r}: {error.strerror}\n")
        return 127
    return 0  # pragma: no cover - execvpe does not return
