"""The command line and its self-test: ``pyg-jit-shim check``, ``show``, ``run``.

A service never imports this package: ``import pyg_jit_shim`` does not reach
it. Under ``run`` the one file of it that a service executes is
``_bootstrap/sitecustomize.py``, loaded as the top-level ``sitecustomize``,
which imports the shim and nothing from here.
"""
