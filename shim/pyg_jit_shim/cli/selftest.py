"""``pyg-jit-shim check``: what is installed, what the shim did, whether every
layer that PyG 2.5.3 scripts scripts here, and whether each layer that scripts
also scripts after ``torch.save`` here and ``torch.load`` in a fresh
interpreter that never built its class (the way a service deploys a model)."""

import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import __version__, status
from ..report import describe
from . import archive_check, conformance
from .pipes import closed_pipe, reader_gone
from .scratch import private_output

_NEEDED = ("patched", "partial", "failed", "pending")
# The fix that makes layers script after torch.load (fixes.FIXES).
_AFTER_LOAD = "script-after-load"

# The serving side: the shim first, as a service imports it; nothing is built.
# One line per file as it is done, for the progress line.
_LOADER = """
import json, sys
from importlib import import_module
import pyg_jit_shim
conformance = import_module({module!r})
for path in sys.argv[1:]:
    print(json.dumps(list(conformance.check_loaded(path))), flush=True)
"""
NOT_INSTALLED = "not installed"
# check could not run its self-test (as grep uses 2 for trouble, 1 for a finding).
CANNOT_CHECK = 2


def _imported(name: str) -> Tuple[Optional[str], str]:
    """(the imported module's own version, "") or (None, why it cannot be had)."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None, NOT_INSTALLED
        return None, f"not importable ({describe(error)})"
    except Exception as error:  # --version must answer even where torch is broken
        return None, f"not importable ({describe(error)})"
    return str(getattr(module, "__version__", "unknown")), ""


def versions() -> Dict[str, str]:
    # torch_geometric after the shim and torch: a service's import order.
    found = {"python": platform.python_version()}
    for name in ("torch", "torch_geometric"):
        version, problem = _imported(name)
        found[name] = version or problem
    return found


def version_line(found: Dict[str, str]) -> str:
    return ("pyg-jit-shim {}: Python {python}, torch {torch}, "
            "torch_geometric {torch_geometric}".format(__version__, **found))


Progress = Callable[[int, int, str], None]
_WIDTH = 79


def _progress() -> Optional[Callable[[str, int, int, str], None]]:
    """One line on a terminal's standard error, rewritten as the self-test goes
    ("layer 12/65: GATConv"); nothing where standard error is not a terminal
    (a log file, a monitoring pipe)."""
    try:
        shown = sys.stderr.isatty()
    except (AttributeError, ValueError):
        shown = False
    if not shown:
        return None

    def show(stage: str, done: int, total: int, name: str) -> None:
        line = f"{stage} {done}/{total}: {name}"
        sys.stderr.write("\r" + line[:_WIDTH].ljust(_WIDTH))
        sys.stderr.flush()

    return show


def _stage(progress: Optional[Callable[[str, int, int, str], None]],
           stage: str) -> Optional[Progress]:
    if progress is None:
        return None

    def show(done: int, total: int, name: str) -> None:
        progress(stage, done, total, name)

    return show


def _before_each(progress: Optional[Progress]) -> Progress:
    def before(done: int, total: int, name: str) -> None:
        # Nobody would read the report (``| head`` has what it wanted): stop.
        if reader_gone(sys.stdout):
            raise closed_pipe()
        if progress is not None:
            progress(done, total, name)

    return before


def _by_name(name: str) -> str:
    return name.casefold()


def _load_then_script(names: List[str], directory: str,
                      progress: Optional[Progress] = None) -> Dict[str, conformance.Result]:
    """``conformance.save_eager`` here, ``check_loaded`` in one fresh interpreter;
    the files go to ``directory``, and so does whatever PyG writes there."""
    outcomes: Dict[str, conformance.Result] = {}
    paths: Dict[str, str] = {}
    for name in names:
        try:
            path = conformance.save_eager(name, directory)
        except Exception as error:
            outcomes[name] = conformance.Result(
                name, "save-failed", conformance.shorten(describe(error)), None)
            continue
        if path is None:  # it built and ran a moment ago
            outcomes[name] = conformance.Result(
                name, "save-failed", "the layer no longer builds or runs", None)
        else:
            paths[name] = str(path)
    if not paths:
        return outcomes
    loaded, why = _load_elsewhere(list(paths.items()), directory, progress,
                                  _LOADER.format(module=conformance.__name__))
    for name, result in zip(paths, loaded):
        outcomes[name] = conformance.Result(name, *result[1:])
    for name in list(paths)[len(loaded):]:
        outcomes[name] = conformance.Result(name, "load-failed", conformance.shorten(
            f"the loading interpreter failed: {why}"), None)
    return outcomes


def _load_elsewhere(paths: List[Tuple[str, str]], directory: str,
                    progress: Optional[Progress], code: str) -> Tuple[List[List[Any]], str]:
    """``code`` run on each (name, file) in one fresh interpreter: its results
    (a JSON list per line) as they come, and why it stopped before the last
    one ("" if it did not)."""
    if not paths:
        return [], ""
    if progress is not None:
        progress(1, len(paths), paths[0][0])
    env = dict(os.environ, TMPDIR=directory, PYG_HOME=directory)
    loaded: List[List[Any]] = []
    why = ""
    # Its stderr to a file: a pipe nobody reads while stdout is read could fill.
    with tempfile.TemporaryFile("w+", dir=directory) as errors:
        try:
            with subprocess.Popen([sys.executable, "-c", code, *(path for _, path in paths)],
                                  env=env, stdout=subprocess.PIPE, stderr=errors,
                                  text=True) as child:
                assert child.stdout is not None
                for line in child.stdout:
                    try:
                        result = json.loads(line)
                    except ValueError:
                        continue  # a layer's own print
                    if not isinstance(result, list):
                        continue
                    loaded.append(result)
                    if progress is not None and len(loaded) < len(paths):
                        progress(len(loaded) + 1, len(paths), paths[len(loaded)][0])
        except Exception as error:
            why = describe(error)
        errors.seek(0)
        last = errors.read().strip().splitlines()[-1:]
    if len(loaded) < len(paths) and not why:
        why = last[0] if last else "it ended early"
    return loaded, why


def _rows(results: List[conformance.Result], expected: Dict[str, str],
          after_load: Dict[str, conformance.Result],
          archives: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows = []
    for result in sorted(results, key=lambda result: _by_name(result.name)):
        reference = expected.get(result.name)
        loaded = after_load.get(result.name)
        rows.append({
            "name": result.name, "status": result.status, "detail": result.detail,
            "max_abs_diff": result.max_abs_diff, "on_2_5_3": reference,
            "as_on_2_5_3": reference is None or reference == result.status,
            "load_then_script": None if loaded is None else {
                "status": loaded.status, "detail": loaded.detail,
                "max_abs_diff": loaded.max_abs_diff},
            "archives": archives.get(result.name),
        })
    return rows


def _head(report: Dict[str, Any], testing: bool) -> str:
    """What is known before the self-test runs."""
    shim = report["shim"]
    lines = [
        version_line(report),
        "shim: {} ({}) - {}".format(shim["verdict"], shim["mode"], shim["reason"]),
    ]
    if shim["fixes"]:
        lines.append("fixes: " + ", ".join(shim["fixes"]))
    lines.extend("skipped: " + line for line in shim["skipped"])
    if testing and not report["needed"]:
        lines.append("This release does not need the shim; self-test only.")
    return "\n".join(lines)


def _text(report: Dict[str, Any]) -> str:
    """The self-test's part of the report, layers sorted by name."""
    rows = report["layers"]
    scripted = [row["name"] for row in rows if row["status"] == "scripted"]
    lines = [f"\nscripted, equal to eager ({len(scripted)}):"]
    lines.extend(textwrap.wrap(", ".join(scripted), 88, initial_indent="  ",
                               subsequent_indent="  "))
    others = [row for row in rows if row["status"] != "scripted"]
    if others:
        lines.append(f"\nnot scripted ({len(others)}):")
        width = max(len(row["name"]) for row in others)
        for row in others:
            same = "as on 2.5.3" if row["as_on_2_5_3"] else "2.5.3: " + str(row["on_2_5_3"])
            lines.append("  {:<13} {:<{}}  {:<13}  {}".format(
                row["status"], row["name"], width, same, row["detail"]).rstrip())
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
                outcome["status"], row["name"], width, outcome["detail"]).rstrip())
    lines.extend(archive_check.text(rows, report))
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
    failed_archives = archive_check.verdict(report)
    if failed_archives is not None:
        lines.append(failed_archives)
    return "\n".join(lines)


def _json_head(report: Dict[str, Any]) -> str:
    """The start of ``json.dumps(report, indent=2)`` for a report that will get
    more keys after those it has now: printed before the self-test; the keys
    added later follow as the same text."""
    return json.dumps(report, indent=2)[:-len("\n}")] + ","


def check(as_json: bool = False) -> int:
    if as_json and reader_gone(sys.stdout):
        raise closed_pipe()  # before seconds of importing torch, for nobody
    found = versions()
    current = status()
    missing = [f"{name} {problem}" for name in ("torch", "torch_geometric")
               for version, problem in [_imported(name)] if version is None]
    report: Dict[str, Any] = dict(found, shim_version=__version__, shim=current.as_dict(),
                                  needed=current.verdict in _NEEDED)
    if missing:
        if not as_json:
            print(_head(report, testing=False), flush=True)
        sys.stderr.write("pyg-jit-shim: cannot run the self-test: "
                         + "; ".join(missing) + "\n")
        return CANNOT_CHECK
    # At once: the versions while the self-test runs, and a reader that stopped
    # after them (``| head -n1``, ``--json | head -5``) need not wait for it.
    # The JSON document is printed in two parts, the same text as in one.
    head = _json_head(report) if as_json else _head(report, testing=True)
    print(head, flush=True)
    expected = conformance.load_expected()
    progress = _progress()
    try:
        with private_output() as directory:
            archives = None if directory is None else conformance.Archives(directory)
            results = conformance.run_all(progress=_before_each(_stage(progress, "layer")),
                                          archives=archives)
            if reader_gone(sys.stdout):
                raise closed_pipe()
            scripted = [result.name for result in results if result.status == "scripted"]
            after_load: Dict[str, conformance.Result] = {}
            archive_rows: Dict[str, Dict[str, Any]] = {}
            not_run = None
            if directory is None:
                not_run = "no temporary directory to save the layers in"
            else:
                after_load = _load_then_script(
                    scripted, directory, _stage(progress, "torch.load, then script"))
                assert archives is not None
                stage = _stage(progress, "torch.jit.load")
                archive_rows = archive_check.load(archives, lambda files, code: _load_elsewhere(
                    files, directory, stage, code))
    finally:
        if progress is not None:
            sys.stderr.write("\r" + " " * _WIDTH + "\r")
            sys.stderr.flush()
    rows = _rows(results, expected, after_load, archive_rows)
    regressions = [row["name"] for row in rows
                   if row["on_2_5_3"] == "scripted" and row["status"] != "scripted"]
    failures = sorted(name for name, result in after_load.items() if result.status != "ok")
    # A failure only where the shim says it repairs this; elsewhere a report.
    repaired = _AFTER_LOAD in current.fixes
    archive_findings = archive_check.judge(archive_rows)
    ok = not regressions and not (repaired and failures) and not archive_findings[
        "archive_failures"]
    rest = dict(layers=rows, regressions=regressions, load_then_script_failures=failures,
                load_then_script_repaired=repaired, load_then_script_not_run=not_run,
                **archive_findings, ok=ok)
    report.update(rest)
    # The head ended on "," and a newline: the rest's entries without its "{\n".
    print(json.dumps(rest, indent=2)[len("{\n"):] if as_json else _text(report))
    return 0 if ok else 1
