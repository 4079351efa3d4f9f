"""Activates pyg_jit_shim at interpreter start-up, for ``pyg-jit-shim run``.

Python imports the first ``sitecustomize`` on ``sys.path``; this one is put
ahead of all others, so after activating the shim it runs the one it shadows.
Child interpreters (subprocess, multiprocessing's spawn) inherit PYTHONPATH and
come through here too.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _activate() -> None:
    try:
        import pyg_jit_shim  # noqa: F401
    except Exception as error:  # never stop the program from starting
        sys.stderr.write(f"pyg_jit_shim: not activated: {type(error).__name__}: {error}\n")


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    path = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_activate()
_chain()
