"""``pyg-jit-shim check``: what is installed, what the shim did, whether every
layer that PyG 2.5.3 scripts scripts here, and whether each layer that scripts
also scripts after ``torch.save`` here and ``torch.load`` in a fresh
interpreter that never built its class (the way a service deploys a model)."""

import json
import platform
import subprocess
import sys
import tempfile
import textwrap
from typing import Any, Dict, List, Optional

from . import __version__, conformance, status
from .report import describe

_NEEDED = ("patched", "partial", "failed", "pending")
# The fix that makes layers script after torch.load (fixes.FIXES).
_AFTER_LOAD = "script-after-load"

# The serving side: the shim first, as a service imports it; nothing is built.
_LOADER = """
import json, sys
from importlib import import_module
import pyg_jit_shim
conformance = import_module({module!r})
print(json.dumps([list(conformance.check_loaded(path)) for path in sys.argv[1:]]))
"""


def _versions() -> Dict[str, Optional[str]]:
    import torch
    import torch_geometric  # after the shim: a service's import order

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__}


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        line = f"self-test [{done}/{total}] {name}"
        sys.stderr.write("\r" + line.ljust(60)[:79])
        sys.stderr.flush()

    return show


class _NotRun(Exception):
    """The load-then-script check cannot run here; says why."""


def _load_then_script(names: List[str]) -> Dict[str, conformance.Result]:
    """``conformance.save_eager`` here, ``check_loaded`` in one fresh interpreter."""
    outcomes: Dict[str, conformance.Result] = {}
    if not names:
        return outcomes
    try:
        scratch = tempfile.TemporaryDirectory(prefix="pyg-jit-shim-check-")
    except OSError as error:  # a read-only file system
        raise _NotRun(f"no temporary directory to save layers in: {describe(error)}") from None
    with scratch as directory:
        paths: Dict[str, str] = {}
        for name in names:
            try:
                path = conformance.save_eager(name, directory)
            except Exception as error:
                outcomes[name] = conformance.Result(name, "save-failed", describe(error), None)
                continue
            if path is None:  # it built and ran a moment ago
                outcomes[name] = conformance.Result(
                    name, "save-failed", "the layer no longer builds or runs", None)
            else:
                paths[name] = str(path)
        if not paths:
            return outcomes
        code = _LOADER.format(module=conformance.__name__)
        child: Optional[subprocess.CompletedProcess[str]] = None
        try:
            child = subprocess.run([sys.executable, "-c", code, *paths.values()],
                                   capture_output=True, text=True, check=False)
            loaded = json.loads(child.stdout.strip().splitlines()[-1])
        except Exception as error:
            why = describe(error)
            if child is not None and child.stderr.strip():
                why = child.stderr.strip().splitlines()[-1][:200]
            for name in paths:
                outcomes[name] = conformance.Result(
                    name, "load-failed", f"the loading interpreter failed: {why}", None)
            return outcomes
    for name, result in zip(paths, loaded):
        outcomes[name] = conformance.Result(name, *result[1:])
    return outcomes


def _rows(results: List[conformance.Result], expected: Dict[str, str],
          after_load: Dict[str, conformance.Result]) -> List[Dict[str, Any]]:
    rows = []
    for result in results:
        reference = expected.get(result.name)
        loaded = after_load.get(result.name)
        rows.append({
            "name": result.name, "status": result.status, "detail": result.detail,
            "max_abs_diff": result.max_abs_diff, "on_2_5_3": reference,
            "as_on_2_5_3": reference is None or reference == result.status,
            "load_then_script": None if loaded is None else {
                "status": loaded.status, "detail": loaded.detail,
                "max_abs_diff": loaded.max_abs_diff},
        })
    return rows


def _text(report: Dict[str, Any]) -> str:
    shim = report["shim"]
    lines = [
        "pyg-jit-shim {shim_version}: Python {python}, torch {torch}, "
        "torch_geometric {torch_geometric}".format(**report),
        "shim: {} ({}) - {}".format(shim["verdict"], shim["mode"], shim["reason"]),
    ]
    if shim["fixes"]:
        lines.append("fixes: " + ", ".join(shim["fixes"]))
    lines.extend("skipped: " + line for line in shim["skipped"])
    if not report["needed"]:
        lines.append("This release does not need the shim; self-test only.")
    rows = report["layers"]
    scripted = [row["name"] for row in rows if row["status"] == "scripted"]
    lines.append(f"\nscripted, equal to eager ({len(scripted)}):")
    lines.extend(textwrap.wrap(", ".join(scripted), 88, initial_indent="  ",
                               subsequent_indent="  "))
    others = [row for row in rows if row["status"] != "scripted"]
    if others:
        lines.append(f"\nnot scripted ({len(others)}):")
        width = max(len(row["name"]) for row in others)
        for row in others:
            same = "as on 2.5.3" if row["as_on_2_5_3"] else "2.5.3: " + str(row["on_2_5_3"])
            lines.append("  {:<13} {:<{}}  {:<13}  {}".format(
                row["status"], row["name"], width, same, row["detail"][:100]))
    loaded = [row for row in rows if row["load_then_script"] is not None]
    if report["load_then_script_not_run"]:
        lines.append("\nnot checked after torch.load: " + report["load_then_script_not_run"])
    if loaded:
        ok = [row for row in loaded if row["load_then_script"]["status"] == "ok"]
        lines.append(f"\nscripted after torch.save here and torch.load in a fresh "
                     f"interpreter: {len(ok)} of {len(loaded)}")
        failing = [row for row in loaded if row["load_then_script"]["status"] != "ok"]
        width = max([len(row["name"]) for row in failing] + [0])
        for row in failing:
            outcome = row["load_then_script"]
            lines.append("  {:<13} {:<{}}  {}".format(
                outcome["status"], row["name"], width, outcome["detail"][:100]))
    regressions = report["regressions"]
    after_load = report["load_then_script_failures"]
    if regressions:
        lines.append("\nFAIL: scripted on PyG 2.5.3 but not here: " + ", ".join(regressions))
    else:
        lines.append("\nOK: every layer that PyG 2.5.3 scripts scripts here.")
    if after_load and report["load_then_script_repaired"]:
        lines.append("FAIL: scripted here, but not after torch.load elsewhere: "
                     + ", ".join(after_load))
    elif after_load:
        lines.append(f"Note: {len(after_load)} layer(s) script here but not after torch.load "
                     "in a process that never built their class; PyG 2.6 fixes that (#9368), "
                     "and the shim on 2.5.0-2.5.2.")
    return "\n".join(lines)


def check(as_json: bool = False) -> int:
    versions = _versions()
    current = status()
    expected = conformance.load_expected()
    progress = None if as_json else _progress()
    results = conformance.run_all(progress=progress)
    if progress is not None:
        sys.stderr.write("\rself-test: torch.load, then script, in a fresh interpreter".ljust(79))
        sys.stderr.flush()
    not_run = None
    try:
        after_load = _load_then_script([r.name for r in results if r.status == "scripted"])
    except _NotRun as reason:
        after_load, not_run = {}, str(reason)
    if progress is not None:
        sys.stderr.write("\r" + " " * 79 + "\r")
    rows = _rows(results, expected, after_load)
    regressions = [row["name"] for row in rows
                   if row["on_2_5_3"] == "scripted" and row["status"] != "scripted"]
    failures = sorted(name for name, result in after_load.items() if result.status != "ok")
    # A failure only where the shim says it repairs this; elsewhere a report.
    repaired = _AFTER_LOAD in current.fixes
    ok = not regressions and not (repaired and failures)
    report = dict(versions, shim_version=__version__, shim=current.as_dict(),
                  needed=current.verdict in _NEEDED, layers=rows, regressions=regressions,
                  load_then_script_failures=failures, load_then_script_repaired=repaired,
                  load_then_script_not_run=not_run, ok=ok)
    print(json.dumps(report, indent=2) if as_json else _text(report))
    return 0 if ok else 1
