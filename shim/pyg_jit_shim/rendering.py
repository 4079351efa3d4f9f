"""Rendering PyG's own installed templates, as PyG does.

The generator patch and the construction patch render through here; backports
of later template fixes adjust the rendered text through :data:`ADJUSTMENTS`
(see :mod:`pyg_jit_shim.patches.collect_optional_edges`).
"""

import os
from typing import Any, Callable, Dict, Mapping, Tuple

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
    environment = _environments.get(directory)
    if environment is None:
        # The same Environment settings PyG uses, so the text is the same;
        # kept per directory instead of being rebuilt for every class. No
        # lock: two threads may both make one, and the first stored is kept.
        from jinja2 import Environment, FileSystemLoader

        environment = _environments.setdefault(
            directory, Environment(loader=FileSystemLoader(directory)))
    text: str = environment.get_template(filename).render(**variables)
    for adjust in ADJUSTMENTS:
        text = adjust(template_path, text)
    return text


def required_names(template_path: str, variables: Mapping[str, Any]) -> Tuple[str, ...]:
    names = _DEFINES.get(os.path.basename(template_path), ())
    collect = variables.get("collect_name")
    return names + ((collect,) if isinstance(collect, str) else ())
