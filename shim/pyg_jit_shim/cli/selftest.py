"""``pyg-jit-shim check``: what is installed, what the shim did, and whether
every layer that PyG 2.5.3 scripts scripts here."""

import importlib
import json
import platform
import sys
import textwrap
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import __version__, status
from ..report import describe
from . import conformance
from .pipes import closed_pipe, reader_gone
from .scratch import private_output

_NEEDED = ("patched", "partial", "failed", "pending")
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


def _progress() -> Optional[Callable[[int, int, str], None]]:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        line = f"self-test [{done}/{total}] {name}"
        sys.stderr.write("\r" + line.ljust(60)[:79])
        sys.stderr.flush()

    return show


def _before_each(progress: Optional[Callable[[int, int, str], None]]
                 ) -> Callable[[int, int, str], None]:
    def before(done: int, total: int, name: str) -> None:
        # Nobody would read the report (``| head`` has what it wanted): stop.
        if reader_gone(sys.stdout):
            raise closed_pipe()
        if progress is not None:
            progress(done, total, name)

    return before


def _by_name(name: str) -> str:
    return name.casefold()


def _rows(results: List[conformance.Result], expected: Dict[str, str]) -> List[Dict[str, Any]]:
    rows = []
    for result in sorted(results, key=lambda result: _by_name(result.name)):
        reference = expected.get(result.name)
        rows.append({
            "name": result.name, "status": result.status, "detail": result.detail,
            "max_abs_diff": result.max_abs_diff, "on_2_5_3": reference,
            "as_on_2_5_3": reference is None or reference == result.status,
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
                row["status"], row["name"], width, same, row["detail"][:100]).rstrip())
    regressions = report["regressions"]
    if regressions:
        lines.append("\nFAIL: scripted on PyG 2.5.3 but not here: " + ", ".join(regressions))
    else:
        lines.append("\nOK: every layer that PyG 2.5.3 scripts scripts here.")
    return "\n".join(lines)


def check(as_json: bool = False) -> int:
    if as_json and reader_gone(sys.stdout):
        raise closed_pipe()  # before seconds of importing torch, for nobody
    found = versions()
    current = status()
    missing = [f"{name} {problem}" for name in ("torch", "torch_geometric")
               for version, problem in [_imported(name)] if version is None]
    report: Dict[str, Any] = dict(found, shim_version=__version__, shim=current.as_dict(),
                                  needed=current.verdict in _NEEDED)
    if not as_json:
        # At once: the versions while the self-test runs, and a reader that
        # stopped after them (``| head -n1``) need not wait for it.
        print(_head(report, testing=not missing), flush=True)
    if missing:
        sys.stderr.write("pyg-jit-shim: cannot run the self-test: "
                         + "; ".join(missing) + "\n")
        return CANNOT_CHECK
    expected = conformance.load_expected()
    progress = None if as_json else _progress()
    try:
        with private_output():
            results = conformance.run_all(progress=_before_each(progress))
    finally:
        if progress is not None:
            sys.stderr.write("\r" + " " * 79 + "\r")
    rows = _rows(results, expected)
    regressions = [row["name"] for row in rows
                   if row["on_2_5_3"] == "scripted" and row["status"] != "scripted"]
    report.update(layers=rows, regressions=regressions, ok=not regressions)
    print(json.dumps(report, indent=2) if as_json else _text(report))
    return 0 if not regressions else 1
