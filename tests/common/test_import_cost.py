"""``import pyg_jit_shim`` is cheap and safe in every process of a service."""

import json

from tests.helpers import IS_AFFECTED, environment, run_python

IMPORTS = """
import json, sys
import pyg_jit_shim
heavy = sorted(m for m in ("torch", "torch_geometric", "jinja2", "numpy", "wrapt")
               if m in sys.modules)
print(json.dumps([heavy, pyg_jit_shim.status().verdict]))
"""


def _run(**env: str) -> list:
    result = run_python(IMPORTS, env=environment(**env))
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_imports_neither_torch_nor_pyg() -> None:
    heavy, verdict = _run()
    # Not even wrapt: it is imported when torch_geometric is, and only to patch it.
    assert heavy == []
    assert verdict == ("pending" if IS_AFFECTED else "untouched")


def test_wrapt_only_where_torch_geometric_is_patched() -> None:
    result = run_python(IMPORTS.replace("import pyg_jit_shim\n",
                                        "import pyg_jit_shim, torch_geometric\n"))
    heavy, verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert ("wrapt" in heavy) == IS_AFFECTED
    assert verdict == ("patched" if IS_AFFECTED else "untouched")


def test_off_imports_nothing_at_all() -> None:
    heavy, verdict = _run(PYG_JIT_SHIM="off")
    assert heavy == []
    assert verdict == "disabled"


def test_unknown_switch_value_says_so_once_and_keeps_the_service_running() -> None:
    result = run_python(IMPORTS, env=environment(PYG_JIT_SHIM="enabled"))
    lines = [line for line in result.stderr.splitlines() if "PYG_JIT_SHIM" in line]
    assert len(lines) == 1
    assert "'enabled'" in lines[0] and "using 'auto'" in lines[0]
    _, verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdict == ("pending" if IS_AFFECTED else "untouched")
