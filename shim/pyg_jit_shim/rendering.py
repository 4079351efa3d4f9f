"""Rendering PyG's own installed templates, as PyG does.

The generator patch and the construction patch render through here; backports
of later template fixes adjust the rendered text through :data:`ADJUSTMENTS`
(see :mod:`pyg_jit_shim.patches.collect_optional_edges`).

Rendering takes no lock. jinja2 keeps templates and lexers in its
``LRUCache``, which holds a plain ``threading.Lock`` for every lookup: a child
forked while another thread held it, or a signal handler that builds a layer
while its own thread held it, would wait forever. Here templates are kept in
a plain dict (``cache_size=-1``) and each environment has its own lexer, so
no lookup of jinja2's goes through a lock.
"""

import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

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
        environment = _environments.setdefault(directory, unlocked_environment(directory))
    text: str = environment.get_template(filename).render(**variables)
    for adjust in ADJUSTMENTS:
        text = adjust(template_path, text)
    return text


def unlocked_environment(directory: Optional[str] = None) -> Any:
    """A jinja2 Environment (loading from ``directory``) whose lookups take no lock."""
    from jinja2 import Environment, FileSystemLoader
    from jinja2.lexer import Lexer

    class UnlockedEnvironment(Environment):  # type: ignore[misc]
        @property
        def lexer(self) -> Lexer:
            # jinja2 looks the lexer up in its locked cache at every compile.
            found: Lexer = self.__dict__.get("_own_lexer") or Lexer(self)
            self.__dict__["_own_lexer"] = found
            return found

    loader = FileSystemLoader(directory) if directory is not None else None
    return UnlockedEnvironment(loader=loader, cache_size=-1)


def required_names(template_path: str, variables: Mapping[str, Any]) -> Tuple[str, ...]:
    names = _DEFINES.get(os.path.basename(template_path), ())
    collect = variables.get("collect_name")
    return names + ((collect,) if isinstance(collect, str) else ())
