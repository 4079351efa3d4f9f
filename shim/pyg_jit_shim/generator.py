"""The repaired ``torch_geometric.template.module_from_template``.

It renders PyG's own installed templates exactly as PyG does, then builds the
module in memory (see :mod:`pyg_jit_shim.modules`) instead of writing a file
and importing it back. Backports of later template fixes adjust the rendered
text through :data:`ADJUSTMENTS` (see :mod:`pyg_jit_shim.optional_edges`).
"""

import os
from types import ModuleType
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from .modules import LOCK, shared_module
from .patching import Context, Implementation, Recorder, parameter_names
from .targets import PyG, directory_of

# What a caller reads from the module each template renders.
_DEFINES = {
    "propagate.jinja": ("propagate",),
    "edge_updater.jinja": ("edge_updater",),
    "sequential.jinja": ("Sequential",),
}

_environments: Dict[str, Any] = {}

# (template path, rendered text) -> text; set by backport patches while
# they are applied, read at every render.
ADJUSTMENTS: Tuple[Callable[[str, str], str], ...] = ()


def render(template_path: str, variables: Mapping[str, Any]) -> str:
    directory, filename = os.path.split(template_path)
    with LOCK:
        environment = _environments.get(directory)
        if environment is None:
            # The same Environment settings PyG uses, so the text is the same;
            # kept per directory instead of being rebuilt for every class.
            from jinja2 import Environment, FileSystemLoader

            environment = Environment(loader=FileSystemLoader(directory))
            _environments[directory] = environment
    text: str = environment.get_template(filename).render(**variables)
    for adjust in ADJUSTMENTS:
        text = adjust(template_path, text)
    return text


def required_names(template_path: str, variables: Mapping[str, Any]) -> Tuple[str, ...]:
    names = _DEFINES.get(os.path.basename(template_path), ())
    collect = variables.get("collect_name")
    return names + ((collect,) if isinstance(collect, str) else ())


def module_from_template(
    module_name: str, template_path: str, tmp_dirname: str, **variables: Any
) -> ModuleType:
    """Drop-in for PyG's generator; ``tmp_dirname`` is unused as nothing is written."""
    source = render(template_path, variables)
    return shared_module(module_name, source, required_names(template_path, variables))


def wrapper(wrapped: Any, instance: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    """wrapt wrapper around PyG's generator that never calls it."""
    return module_from_template(*args, **kwargs)


def _check(pyg: PyG) -> Optional[str]:
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


def _apply(pyg: PyG, recorder: Recorder, context: Context) -> None:
    replacement = recorder.wrap(pyg.template, "module_from_template", wrapper)
    # `from torch_geometric.template import module_from_template` copied the
    # function into these modules: each binding is replaced.
    for module in (pyg.message_passing, pyg.sequential):
        recorder.replace(module, "module_from_template", replacement)


GENERATOR = Implementation(_check, _apply)
