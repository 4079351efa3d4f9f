"""Each patch made not to fit, in realistic ways: every layer still builds and
runs as with PyG alone, status() says what is in effect, one line says why."""

import re
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
import torch

from pyg_jit_shim.fixes import FIXES, PATCHES, patches_for
from tests.faults import FAULTS, Fault
from tests.helpers import PYG, environment, last_json, run_python

# Runs every case of the conformance table eagerly and saves the outputs.
EAGER = """
import json, sys, torch
{tamper}
import pyg_jit_shim
from pyg_jit_shim.cli import conformance
outputs = {{name: conformance.eager_output(name) for name in conformance.layer_names()}}
torch.save(outputs, sys.argv[1])
status = pyg_jit_shim.status()
print(json.dumps([status.verdict, list(status.fixes), list(status.skipped)]))
"""

SKIPPED = re.compile(
    r"pyg_jit_shim: patch '([^']+)' skipped: (.*); the fixes it carries are not in effect$")
RELEASE_FAULTS = [fault for fault in FAULTS
                  if fault.patch in {patch.name for patch in patches_for(PYG)}]


def _eager(directory: Path, name: str, tamper: str = "",
           **env: str) -> Tuple[Dict[str, Any], Any, List[str]]:
    path = directory / f"{name}.pt"
    code = EAGER.format(tamper="import torch_geometric\n" + tamper)
    # PyG 2.5.0 alone writes its generated files under PYG_HOME, under fixed
    # names: processes sharing one clobber each other's (#9025).
    home = directory / f"{name}-home"
    result = run_python(code, env=environment(PYG_HOME=str(home), **env), args=[str(path)])
    warnings = [line for line in result.stderr.splitlines() if line.startswith("pyg_jit_shim:")]
    return torch.load(path, weights_only=False), last_json(result), warnings


@pytest.fixture(scope="module")
def pyg_alone(tmp_path_factory: Any) -> Dict[str, Any]:
    outputs, _, _ = _eager(tmp_path_factory.mktemp("alone"), "alone", PYG_JIT_SHIM="off")
    return outputs


def _skipped_with_dependents(patch: str) -> Set[str]:
    """``patch`` and every patch that needs it, directly or not, on this release."""
    needed = {p.name: set(p.requires) for p in patches_for(PYG)}
    skipped = {patch}
    while True:
        more = {name for name, requires in needed.items() if requires & skipped} - skipped
        if not more:
            return skipped
        skipped |= more


def _assert_as_usable(outputs: Dict[str, Any], alone: Dict[str, Any]) -> None:
    """Every case that PyG alone runs runs, with the same output. (Where PyG
    alone fails, the shim may do better: 2.5.0 alone cannot build FusedGATConv,
    whose types come from its parent's module.)"""
    assert outputs.keys() == alone.keys()
    for name, (alone_status, alone_value) in alone.items():
        if alone_status == "ok":
            status, value = outputs[name]
            assert status == "ok", (name, value)
            torch.testing.assert_close(value, alone_value, atol=1e-6, rtol=0, msg=name)


def test_every_patch_of_this_release_has_a_fault() -> None:
    assert {patch.name for patch in patches_for(PYG)} == {fault.patch for fault in RELEASE_FAULTS}


def test_the_faults_do_not_break_pyg_alone(tmp_path: Path, pyg_alone: Dict[str, Any]) -> None:
    # The reference itself: most cases build and run with PyG alone, and the
    # faults change nothing for PyG alone, so comparing with it proves something.
    assert sum(status == "ok" for status, _ in pyg_alone.values()) >= 40
    tamper = "\n".join(fault.code for fault in RELEASE_FAULTS)
    outputs, status, _ = _eager(tmp_path, "all-off", tamper, PYG_JIT_SHIM="off")
    assert status[0] == "disabled"
    assert {name: status for name, (status, _) in outputs.items()} == {
        name: status for name, (status, _) in pyg_alone.items()}
    _assert_as_usable(outputs, pyg_alone)


@pytest.mark.parametrize("fault", RELEASE_FAULTS, ids=lambda fault: fault.label)
def test_a_patch_that_does_not_fit(fault: Fault, tmp_path: Path,
                                   pyg_alone: Dict[str, Any]) -> None:
    outputs, (verdict, fixes, skipped), warnings = _eager(tmp_path, "fault", fault.code)
    _assert_as_usable(outputs, pyg_alone)
    assert verdict == "partial"
    # The patch and all that need it are skipped; another patch whose own check
    # sees the same change may be too (on 2.5.0, inspector-keywords reads the
    # find_parenthesis_content that the comments fault wraps).
    gone = {line.split(":")[0] for line in skipped}
    assert _skipped_with_dependents(fault.patch) <= gone
    for patch in gone:
        assert _skipped_with_dependents(patch) <= gone
    expected = [fix.id for fix in FIXES
                if PYG in fix.releases and not set(fix.patches) & gone]
    assert fixes == expected
    # One line per skipped patch, naming it and the reason status() gives.
    assert sorted(_logged_skips(warnings)) == sorted(skipped)


def _logged_skips(warnings: List[str]) -> List[str]:
    # Other lines may follow: a layer that a skipped repair leaves broken is
    # named with its cause (FusedGATConv on 2.5.0 without inspector-globals).
    matches = [SKIPPED.match(line) for line in warnings if " skipped: " in line]
    assert all(matches), warnings
    return [f"{match.group(1)}: {match.group(2)}" for match in matches if match]


def test_every_patch_skipped_at_once(tmp_path: Path, pyg_alone: Dict[str, Any]) -> None:
    tamper = "\n".join(fault.code for fault in RELEASE_FAULTS)
    outputs, (verdict, fixes, skipped), warnings = _eager(tmp_path, "all", tamper)
    _assert_as_usable(outputs, pyg_alone)
    assert verdict == "failed" and fixes == []
    assert len(skipped) == len(_logged_skips(warnings)) == len(patches_for(PYG))


# The issue's example, spelled out: the layers' own repairs hold without the
# generator patch.
WITHOUT_GENERATOR = {
    "2.5.0": ["parent-imports", "comment-calls", "custom-propagate", "load-compat",
              "loud-failures", "script-after-load", "keyword-propagate", "sequential-pickle"],
    "2.5.1": ["custom-propagate", "unreadable-source", "load-compat", "loud-failures",
              "script-after-load", "keyword-propagate", "sequential-pickle"],
    "2.5.2": ["layer-imports", "custom-propagate", "load-compat", "loud-failures",
              "script-after-load", "keyword-propagate", "sequential-pickle"],
}


def test_a_skipped_generator_keeps_the_repairs_that_do_not_need_it() -> None:
    result = run_python("""
        import json, torch, torch_geometric
        import torch_geometric.nn.conv.message_passing as mp
        _o = mp.module_from_template
        mp.module_from_template = lambda *a, **k: _o(*a, **k)
        import pyg_jit_shim
        from torch_geometric.nn import GCNConv
        torch.jit.script(GCNConv(2, 2))
        print(json.dumps(list(pyg_jit_shim.status().fixes)))
    """)
    assert last_json(result) == WITHOUT_GENERATOR[PYG]


def test_patch_requirements_name_earlier_patches() -> None:
    # The registry applies patches in table order: a requirement must come first.
    seen: Set[str] = set()
    for patch in PATCHES:
        assert set(patch.requires) <= seen, patch.name
        seen.add(patch.name)
