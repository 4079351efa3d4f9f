"""Patch ``generator``: the repaired ``torch_geometric.template.module_from_template``.

It renders PyG's own installed templates exactly as PyG does (see
:mod:`pyg_jit_shim.rendering`), then builds the module in memory (see
:mod:`pyg_jit_shim.modules`) instead of writing a file and importing it back.
"""

import os
from types import ModuleType
from typing import Any, Dict, Optional, Tuple

from ..modules import shared_module
from ..pyg_objects import PyG, directory_of, parameter_names
from ..recording import Recorder
from ..rendering import render, required_names


def module_from_template(
    module_name: str, template_path: str, tmp_dirname: str, **variables: Any
) -> ModuleType:
    """Drop-in for PyG's generator; ``tmp_dirname`` is unused as nothing is written."""
    source = render(template_path, variables)
    # fix: in-memory-modules, complete-modules, unique-modules: built in memory,
    # entered into sys.modules once complete, one module per distinct source.
    return shared_module(module_name, source, required_names(template_path, variables))


def wrapper(wrapped: Any, instance: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    """wrapt wrapper around PyG's generator that never calls it."""
    return module_from_template(*args, **kwargs)


def check(pyg: PyG) -> Optional[str]:
    original = vars(pyg.template).get("module_from_template")
    expected = ("module_name", "template_path", "tmp_dirname", "kwargs")
    if parameter_names(original) != expected:
        return f"module_from_template{expected} is not there"
    for module in (pyg.message_passing, pyg.sequential):
        if vars(module).get("module_from_template") is not original:
            return f"{module.__name__} binds a different module_from_template"
    if not os.path.isfile(os.path.join(directory_of(pyg.sequential), "sequential.jinja")):
        return "PyG's sequential.jinja is not there"
    try:
        import jinja2  # noqa: F401
    except ImportError as error:
        return f"jinja2 cannot be imported: {error}"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    replacement = recorder.wrap(pyg.template, "module_from_template", wrapper)
    # `from torch_geometric.template import module_from_template` copied the
    # function into these modules: each binding is replaced.
    for module in (pyg.message_passing, pyg.sequential):
        recorder.replace(module, "module_from_template", replacement)
