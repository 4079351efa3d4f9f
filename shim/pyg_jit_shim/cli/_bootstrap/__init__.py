"""Holds the ``sitecustomize`` that ``pyg-jit-shim run`` puts on PYTHONPATH."""

import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
# The line that marks sitecustomize.py as this bootstrap, in any copy of the shim.
MARKER = b"\nPYG_JIT_SHIM_BOOTSTRAP = True\n"


def holds_bootstrap(entry: str) -> bool:
    """Whether a PYTHONPATH entry leads to a bootstrap directory, this one or
    another install's, however the path is spelled."""
    directory = os.path.realpath(entry or os.curdir)
    if directory == os.path.realpath(DIRECTORY):
        return True
    try:
        with open(os.path.join(directory, "sitecustomize.py"), "rb") as file:
            return MARKER in file.read(4096)
    except OSError:
        return False
