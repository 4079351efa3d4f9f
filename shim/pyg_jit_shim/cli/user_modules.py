"""Importing a user's ``MODULE`` of ``MODULE:CLASS`` as ``python -m`` would.

``python -m pyg_jit_shim`` puts the working directory first on ``sys.path``;
the ``pyg-jit-shim`` console script puts its own ``bin`` folder there instead,
so a ``model.py`` beside the user would not be found by one and found by the
other. Both find it here.
"""

import importlib
import os
import sys
from types import ModuleType


class NotImportable(Exception):
    """One line that names the module, and where it was looked for."""


def _working_directory_on_path() -> str:
    here = os.getcwd()
    entries = {os.path.abspath(entry or os.curdir) for entry in sys.path
               if isinstance(entry, str)}
    if here not in entries:
        sys.path.insert(0, here)
    return here


def import_user_module(name: str) -> ModuleType:
    here = _working_directory_on_path()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise NotImportable(
                f"cannot import {name!r}: no module {missing!r} in the working directory "
                f"{here} or on the Python path") from None
        raise NotImportable(f"cannot import {name!r}: {type(error).__name__}: {error}") from None
    except Exception as error:
        raise NotImportable(f"cannot import {name!r}: {type(error).__name__}: {error}") from None
