"""``MODULE:NAME`` on the command line: the user's own code, imported as
``python -m`` would import it.

``python -m pyg_jit_shim`` has the working directory first on ``sys.path``;
the ``pyg-jit-shim`` console script has its own ``bin`` folder there instead,
so a ``models.py`` beside the user would be found by one and not by the other.
Both find it here.
"""

import importlib
import os
import sys
from typing import Tuple


class TargetError(Exception):
    """One line that names what was looked for, and where."""


def working_directory_first() -> str:
    """Puts the working directory first on ``sys.path`` unless it is already
    there (``""`` counts: it is what ``python -c`` puts there); returns it.
    ``torch.load`` needs it too, for the classes a pickle names."""
    here = os.getcwd()
    entries = {os.path.abspath(entry or os.curdir) for entry in sys.path
               if isinstance(entry, str)}
    if here not in entries:
        sys.path.insert(0, here)
    return here


NAME_FORM = "MODULE:NAME, e.g. models:build"


def split_target(spec: str, form: str = NAME_FORM) -> Tuple[str, str]:
    """``"pkg.mod:Name.attr"`` -> ``("pkg.mod", "Name.attr")``; ``form`` is what
    the error says was expected."""
    module, _, name = spec.partition(":")
    parts = module.split(".")
    if not name or not all(part.isidentifier() for part in parts) or not all(
            part.isidentifier() for part in name.split(".")):
        raise TargetError(f"expected {form}, got {spec!r}")
    return module, name


def import_target(spec: str, form: str = NAME_FORM) -> object:
    """The object ``NAME`` (dots for attributes) of ``MODULE``, imported with
    the working directory first on ``sys.path``. Whatever goes wrong is one
    :class:`TargetError`; what the user's module raises is named in it."""
    module_name, name = split_target(spec, form)
    here = working_directory_first()
    try:
        found: object = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise TargetError(
                f"cannot import {module_name!r}: no module {missing!r} in the working "
                f"directory {here} or on the Python path") from None
        raise TargetError(
            f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    except Exception as error:  # the user's module failed while it was imported
        raise TargetError(
            f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    for part in name.split("."):
        if not hasattr(found, part):
            where = getattr(sys.modules.get(module_name), "__file__", None) or module_name
            raise TargetError(f"{module_name!r} ({where}) has no {name!r}")
        found = getattr(found, part)
    return found
