"""Holds the ``sitecustomize`` that ``pyg-jit-shim run`` puts on PYTHONPATH."""
