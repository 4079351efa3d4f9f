"""PyG's own generated files, kept out of the user's directories while a
command builds layers.

Where the shim does not act (releases that need nothing, ``PYG_JIT_SHIM=off``)
PyG writes each generated module to a file and never removes it: releases from
2.5.1 on with ``tempfile.NamedTemporaryFile(delete=False)`` in the default temp
dir, 2.5.0 under ``torch_geometric.get_home_dir()``. A self-test of every layer
would leave one file per layer class. PyG is not changed: both locations are
pointed at one private directory for the duration, then restored, and the
directory is removed.
"""

import contextlib
import shutil
import sys
import tempfile
from typing import Any, Iterator, Optional


@contextlib.contextmanager
def private_output() -> Iterator[Optional[str]]:
    """The private directory, or None where none can be made (a read-only
    file system: PyG cannot write its files there either)."""
    import torch_geometric

    # The first gettempdir() caches the default in tempfile.tempdir: read the
    # setting as it was, before mkdtemp() makes that call.
    saved_tempdir = tempfile.tempdir
    try:
        directory = tempfile.mkdtemp(prefix="pyg-jit-shim-")
    except OSError:
        tempfile.tempdir = saved_tempdir
        yield None
        return
    # The raw setting (None: follow $PYG_HOME), not get_home_dir()'s answer,
    # so that it is restored exactly; where it cannot be read, home is left be.
    home = sys.modules.get("torch_geometric.home")
    set_home_dir: Any = getattr(torch_geometric, "set_home_dir", None)
    redirect_home = set_home_dir is not None and hasattr(home, "_home_dir")
    saved_home = getattr(home, "_home_dir", None)
    try:
        tempfile.tempdir = directory
        if redirect_home:
            set_home_dir(directory)
        yield directory
    finally:
        tempfile.tempdir = saved_tempdir
        if redirect_home:
            set_home_dir(saved_home)
        shutil.rmtree(directory, ignore_errors=True)
