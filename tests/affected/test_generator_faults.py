"""The repaired generator itself: a template that raises or renders bad code
leaves nothing behind and says why."""

import sys
from pathlib import Path

import jinja2
import pytest
from torch_geometric import template

from pyg_jit_shim import ShimError


def _template(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_template_that_raises(tmp_path: Path) -> None:
    path = _template(tmp_path, "broken.jinja", "x = {{ missing.attribute }}\n")
    with pytest.raises(jinja2.exceptions.UndefinedError):
        template.module_from_template("fault_raises_propagate", path, "unused")
    assert not [name for name in sys.modules if name.startswith("fault_raises")]


def test_code_that_fails_to_execute(tmp_path: Path) -> None:
    path = _template(tmp_path, "fails.jinja",
                     "import torch\n\nraise RuntimeError('{{ why }}')\n")
    with pytest.raises(ShimError) as info:
        template.module_from_template("fault_fails_propagate", path, "unused", why="boom")
    message = str(info.value)
    assert "RuntimeError: boom" in message
    assert "generated line 3: \"raise RuntimeError('boom')\"" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert not [name for name in sys.modules if name.startswith("fault_fails")]


def test_module_without_what_its_caller_reads(tmp_path: Path) -> None:
    # Named like PyG's template, it must define the class PyG's Sequential instantiates.
    path = _template(tmp_path, "sequential.jinja", "VALUE = {{ value }}\n")
    with pytest.raises(ShimError, match="defines no Sequential"):
        template.module_from_template("fault_empty_seq", path, "unused", value=1)
    assert "fault_empty_seq" not in sys.modules


def test_a_taken_name_is_never_reused_for_another_source(tmp_path: Path) -> None:
    path = _template(tmp_path, "value.jinja", "VALUE = {{ value }}\n")
    first = template.module_from_template("fault_same_name", path, "unused", value=1)
    second = template.module_from_template("fault_same_name", path, "unused", value=2)
    again = template.module_from_template("fault_other_name", path, "unused", value=1)
    assert (first.VALUE, second.VALUE) == (1, 2)
    assert first.__name__ != second.__name__
    assert sys.modules[first.__name__] is first and sys.modules[second.__name__] is second
    assert again is first  # an identical source is the same module


def test_a_module_dropped_from_sys_modules_is_built_again(tmp_path: Path) -> None:
    path = _template(tmp_path, "value.jinja", "VALUE = {{ value }}\n")
    first = template.module_from_template("fault_dropped", path, "unused", value=7)
    del sys.modules[first.__name__]
    second = template.module_from_template("fault_dropped", path, "unused", value=7)
    assert second is not first and sys.modules[second.__name__] is second
