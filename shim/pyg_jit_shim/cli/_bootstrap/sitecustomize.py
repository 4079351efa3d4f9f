"""Activates pyg_jit_shim at interpreter start-up, for ``pyg-jit-shim run``.

Python imports the first ``sitecustomize`` on ``sys.path``; this one is put
ahead of all others, so after activating the shim it runs the one it shadows.
Child interpreters (subprocess, multiprocessing's spawn) inherit PYTHONPATH and
come through here too, also those in which the shim is not installed.

Every directory holding a copy of this file is passed over when looking for the
environment's own ``sitecustomize`` (two installs, or one reached through a
symlink, both on PYTHONPATH): it runs exactly once. Standard library only.
"""

import importlib.machinery
import importlib.util
import os
import sys

# Marks this file in every copy of the shim; pyg_jit_shim.cli._bootstrap reads it.
PYG_JIT_SHIM_BOOTSTRAP = True
_MARKER = b"\nPYG_JIT_SHIM_BOOTSTRAP = True\n"


def _pyg_installed() -> bool:
    try:
        return importlib.util.find_spec("torch_geometric") is not None
    except Exception:
        return False


def _activate() -> None:
    try:
        import pyg_jit_shim  # noqa: F401
    except ModuleNotFoundError as error:
        # An interpreter without the shim (a service starting the system
        # python): a word only where PyG would now run unrepaired.
        if error.name == "pyg_jit_shim":
            if _pyg_installed():
                sys.stderr.write(f"pyg_jit_shim: not installed for {sys.executable}; "
                                 "torch_geometric runs unrepaired in this process\n")
            return
        sys.stderr.write(f"pyg_jit_shim: not activated: ModuleNotFoundError: {error}\n")
    except Exception as error:  # never stop the program from starting
        sys.stderr.write(f"pyg_jit_shim: not activated: {type(error).__name__}: {error}\n")


def _is_bootstrap(directory: str, here: str) -> bool:
    if os.path.realpath(directory) == here:
        return True
    try:
        with open(os.path.join(directory, "sitecustomize.py"), "rb") as file:
            return _MARKER in file.read(4096)
    except OSError:
        return False


def _chain() -> None:
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    path = list(sys.path)
    while True:
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
        if spec is None or spec.loader is None or not spec.origin:
            return
        found = os.path.realpath(os.path.dirname(spec.origin))
        if not _is_bootstrap(found, here):
            break
        # Drop every entry that leads to that directory, however spelled.
        remaining = [entry for entry in path
                     if os.path.realpath(entry or os.curdir) != found]
        if len(remaining) == len(path):
            return  # cannot tell which entry it came from: run nothing rather than loop
        path = remaining
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_activate()
_chain()
