"""``pyg-jit-shim check``: what is installed, what the shim did, and whether
every layer that PyG 2.5.3 scripts scripts here."""

import json
import platform
import sys
import textwrap
from typing import Any, Dict, List, Optional

from .. import __version__, status
from . import conformance

_NEEDED = ("patched", "partial", "failed", "pending")


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


def _rows(results: List[conformance.Result], expected: Dict[str, str]) -> List[Dict[str, Any]]:
    rows = []
    for result in results:
        reference = expected.get(result.name)
        rows.append({
            "name": result.name, "status": result.status, "detail": result.detail,
            "max_abs_diff": result.max_abs_diff, "on_2_5_3": reference,
            "as_on_2_5_3": reference is None or reference == result.status,
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
    regressions = report["regressions"]
    if regressions:
        lines.append("\nFAIL: scripted on PyG 2.5.3 but not here: " + ", ".join(regressions))
    else:
        lines.append("\nOK: every layer that PyG 2.5.3 scripts scripts here.")
    return "\n".join(lines)


def check(as_json: bool = False) -> int:
    versions = _versions()
    current = status()
    expected = conformance.load_expected()
    progress = None if as_json else _progress()
    results = conformance.run_all(progress=progress)
    if progress is not None:
        sys.stderr.write("\r" + " " * 79 + "\r")
    rows = _rows(results, expected)
    regressions = [row["name"] for row in rows
                   if row["on_2_5_3"] == "scripted" and row["status"] != "scripted"]
    report = dict(versions, shim_version=__version__, shim=current.as_dict(),
                  needed=current.verdict in _NEEDED, layers=rows, regressions=regressions,
                  ok=not regressions)
    print(json.dumps(report, indent=2) if as_json else _text(report))
    return 0 if not regressions else 1
