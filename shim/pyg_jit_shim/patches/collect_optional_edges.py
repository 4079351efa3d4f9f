"""Patch ``collect-optional-edges``: an untyped optional edge argument may be
``None`` eagerly (#9494).

PyG's ``collect.jinja`` asserts that ``edge_weight``, ``edge_attr`` or
``edge_type`` is not ``None`` whenever ``message()`` (or ``aggregate()``,
``update()``, ``edge_update()``) types it ``Tensor``, which is also what the
inspector makes of an untyped parameter. ``def message(self, x_j,
edge_attr=None)`` thus fails eagerly with ``AssertionError`` when no
``edge_attr`` is given. PyG 2.6 keeps the assertion for TorchScript only,
where it narrows ``Optional[Tensor]`` to ``Tensor``.

PyG's own template is still what is rendered; the rendered text then gets
2.6's change: the one assertion line is put under
``if torch.jit.is_scripting():``. TorchScript compiles both forms to the same
code, so scripted layers are unchanged; eagerly the ``None`` reaches
``message()``, as on 2.4 and 2.6. Only renders of the checked
``propagate.jinja``/``edge_updater.jinja`` are adjusted.
"""

import os
from typing import Optional

from .. import rendering
from ..pyg_objects import PyG, directory_of
from ..recording import Recorder

_NAMES = ("edge_weight", "edge_attr", "edge_type")
# The templates that include collect.jinja.
_INCLUDERS = ("propagate.jinja", "edge_updater.jinja")
_GUARD = "    if torch.jit.is_scripting():"


def _assertion(name: str) -> str:
    return f"    assert {name} is not None"


_ASSERTIONS = tuple(_assertion(name) for name in _NAMES)


def scripting_only(text: str) -> str:
    """``text`` with collect's one assertion on an edge argument made TorchScript-only."""
    lines = text.split("\n")
    found = [i for i, line in enumerate(lines) if line in _ASSERTIONS]
    if len(found) != 1:
        return text  # none asserted (the usual case); more is not collect.jinja's output
    at = found[0]
    lines[at:at + 1] = [_GUARD, "    " + lines[at]]
    return "\n".join(lines)


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError:
        return None


def check(pyg: PyG) -> Optional[str]:
    if pyg.message_passing is None:
        return "torch_geometric has no message_passing module"
    directory = directory_of(pyg.message_passing)
    collect = _read(os.path.join(directory, "collect.jinja"))
    if collect is None:
        return "PyG's collect.jinja cannot be read"
    if "is_scripting():\n        assert" in collect:
        return "collect.jinja already asserts only under TorchScript"
    if "\nimport torch\n" not in collect:
        return "collect.jinja does not import torch"
    for name in _NAMES:
        line = _assertion(name) + "\n"
        block = f"collect_param_dict['{name}'].type_repr.endswith('Tensor') %}}\n{line}"
        if collect.count(line) != 1 or block not in collect:
            return f"collect.jinja does not assert {name} as PyG 2.5 does"
    for name in _INCLUDERS:
        text = _read(os.path.join(directory, name))
        if text is None:
            return f"PyG's {name} cannot be read"
        if text.count('{% include "collect.jinja" %}') != 1:
            return f"{name} does not include collect.jinja once"
        if any([assertion in text for assertion in _ASSERTIONS]):
            return f"{name} asserts on edge arguments itself"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    directory = directory_of(pyg.message_passing)
    paths = {os.path.realpath(os.path.join(directory, name)) for name in _INCLUDERS}

    def adjust(template_path: str, text: str) -> str:
        if os.path.realpath(template_path) not in paths:
            return text
        return scripting_only(text)

    # fix: untyped-optional-edges
    recorder.replace(rendering, "ADJUSTMENTS", (*rendering.ADJUSTMENTS, adjust))

