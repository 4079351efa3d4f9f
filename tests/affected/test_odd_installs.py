"""Unusual version strings and vendor-patched builds of an affected release."""

from pathlib import Path
from typing import Any

from tests.helpers import PYG, environment, last_json, run_python
from tests.probes import IDENTITIES

STATUS = """
import json, sys, pyg_jit_shim
{before}
status = pyg_jit_shim.status()
print(json.dumps([status.verdict, status.reason, list(status.fixes), "wrapt" in sys.modules]))
"""


def _metadata(tmp_path: Path, version: str) -> Path:
    """A directory listing ``version`` for torch_geometric, put ahead of the real one."""
    site = tmp_path / "meta-{}".format(version.replace("+", "_"))
    info = site / f"torch_geometric-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: torch_geometric\nVersion: {version}\n")
    return site


def _status(site: Path, import_pyg: bool) -> Any:
    env = environment()
    env["PYTHONPATH"] = "{}:{}".format(site, env["PYTHONPATH"])
    result = run_python(STATUS.format(before="import torch_geometric" if import_pyg else ""),
                        env=env)
    verdict, reason, fixes, wrapt_imported = last_json(result)
    warnings = [line for line in result.stderr.splitlines() if "pyg_jit_shim" in line]
    return verdict, reason, fixes, wrapt_imported, warnings


def test_local_build_is_repaired_as_its_release(tmp_path: Path) -> None:
    verdict, reason, fixes, _, warnings = _status(_metadata(tmp_path, PYG + "+vendor1"), True)
    assert verdict == "patched"
    assert f"{PYG}+vendor1 is treated as {PYG}" in reason
    assert "custom-propagate" in fixes
    assert warnings == []  # an informational decision, not a warning


def test_post_release_is_repaired_as_its_release(tmp_path: Path) -> None:
    verdict, reason, _, _, warnings = _status(_metadata(tmp_path, PYG + ".post1"), True)
    assert verdict == "patched" and "treated as " + PYG in reason
    assert warnings == []


def test_development_and_pre_releases_are_left_alone_loudly(tmp_path: Path) -> None:
    for version in (PYG + ".dev0", "2.5.3rc1"):
        verdict, reason, _, wrapt_imported, warnings = _status(
            _metadata(tmp_path, version), False)
        assert verdict == "untouched"
        assert not wrapt_imported
        assert len(warnings) == 1 and version in warnings[0]
        assert "left untouched" in reason


def test_metadata_of_another_release_than_the_imported_one(tmp_path: Path) -> None:
    # The imported code decides, and the disagreement is reported once.
    other = {"2.5.0": "2.5.1", "2.5.1": "2.5.2", "2.5.2": "2.5.0"}[PYG]
    code = """
import json
import torch_geometric
import pyg_jit_shim
status = pyg_jit_shim.status()
print(json.dumps([status.verdict, status.pyg_version, list(status.fixes)]))
"""
    env = environment()
    env["PYTHONPATH"] = "{}:{}".format(_metadata(tmp_path, other), env["PYTHONPATH"])
    result = run_python(code, env=env)
    verdict, version, fixes = last_json(result)
    assert (verdict, version) == ("patched", PYG)
    assert "custom-propagate" in fixes
    (warning,) = [line for line in result.stderr.splitlines() if "pyg_jit_shim" in line]
    assert f"metadata says torch_geometric {other}" in warning and repr(PYG) in warning


VENDOR = IDENTITIES + """
import json, sys, types
import torch_geometric
import torch_geometric.nn.sequential as sequential
{tamper}
before = identities()
import pyg_jit_shim
after = identities()
status = pyg_jit_shim.status()
changed = sorted(name for name in before if before[name] != after[name])
print(json.dumps([status.verdict, list(status.skipped), list(status.fixes), changed]))
"""


def _vendor(tamper: str, **env: str) -> Any:
    result = run_python(VENDOR.replace("{tamper}", tamper), env=environment(**env), check=False)
    warnings = [line for line in result.stderr.splitlines() if "pyg_jit_shim:" in line]
    return result, warnings


def test_a_patch_that_does_not_fit_is_skipped_alone(tmp_path: Path) -> None:
    # A vendor build whose Sequential binds its own generator: the layers'
    # own repairs do not need the generator patch and stay in effect.
    result, warnings = _vendor(
        "def vendor_generator(*args, **kwargs): raise RuntimeError\n"
        "sequential.module_from_template = vendor_generator")
    assert result.returncode == 0, result.stderr
    verdict, skipped, fixes, changed = last_json(result)
    assert verdict == "partial"
    assert skipped == [
        "generator: torch_geometric.nn.sequential binds a different module_from_template",
        "collect-optional-edges: needs generator, which was skipped",
        "sequential-pickle: torch_geometric.nn.sequential binds a different "
        "module_from_template",
    ]
    assert "load-compat" in fixes and "custom-propagate" in fixes
    assert "in-memory-modules" not in fixes and "untyped-optional-edges" not in fixes
    assert "sequential-pickle" not in fixes
    assert not [name for name in changed if "module_from_template" in name]
    assert "torch_geometric.nn.conv.message_passing.MessagePassing.__init__" in changed
    assert len(warnings) == 3 and "generator" in warnings[0]


def test_a_patch_that_fails_half_way_is_undone() -> None:
    # The third of the generator's three bindings cannot be replaced.
    result, _ = _vendor(
        "class Guarded(types.ModuleType):\n"
        "    def __setattr__(self, name, value):\n"
        "        if name == 'module_from_template':\n"
        "            raise AttributeError('read-only in this build')\n"
        "        super().__setattr__(name, value)\n"
        "sequential.__class__ = Guarded")
    assert result.returncode == 0, result.stderr
    verdict, skipped, _, changed = last_json(result)
    assert verdict == "partial"
    assert skipped[0] == "generator: failed: AttributeError: read-only in this build"
    assert not [name for name in changed if "module_from_template" in name]


def test_strict_refuses_a_build_that_does_not_fit() -> None:
    result, _ = _vendor("sequential.module_from_template = lambda *a, **k: None",
                        PYG_JIT_SHIM="strict")
    assert result.returncode != 0
    assert "ShimError: patch 'generator' does not fit this torch_geometric" in result.stderr


