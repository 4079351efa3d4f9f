"""``check``'s archive part: for each layer that scripts, whether the archive
``torch.jit.save`` writes and the one ``pyg_jit_shim.save`` writes load in a
fresh interpreter that imports only torch, and compute what they computed.

Both archives are written while the self-test scripts the layer
(:class:`.conformance.Archives`). A ``pyg_jit_shim.save`` archive that does
not load, or a save that fails for a cause the shim does not name as the
layer's own, is a finding; a ``torch.jit.save`` archive that does not load
is reported, as it fails so on every PyG release (PyG #8867).
"""

from typing import Any, Callable, Dict, List, Optional, Tuple

from . import conformance

# The serving side of an archive: conformance.py loaded from its file, so that
# neither PyG nor the shim is imported, as on a host that has only torch.
LOADER = """
import json, sys
from importlib import util
spec = util.spec_from_file_location("_archive_loader", {path!r})
conformance = util.module_from_spec(spec)
spec.loader.exec_module(conformance)
for path in sys.argv[1:]:
    print(json.dumps(list(conformance.check_saved(path))), flush=True)
"""

KINDS = (conformance.PLAIN, conformance.REPAIRED)
Load = Callable[[List[Tuple[str, str]], str], Tuple[List[List[Any]], str]]


def loader_code() -> str:
    return LOADER.format(path=conformance.__file__)


def load(archives: conformance.Archives, load_elsewhere: Load) -> Dict[str, Dict[str, Any]]:
    """name -> kind -> {"status", "detail", "max_abs_diff", "repaired"}: each
    archive written, loaded once in one fresh interpreter (``load_elsewhere``:
    the files as (label, path), the code to run)."""
    found: Dict[str, Dict[str, Any]] = {}
    paths: Dict[str, str] = {}
    for name, kinds in archives.found.items():
        found[name] = {}
        for kind, archive in kinds.items():
            found[name][kind] = {"status": archive.status, "detail": archive.detail,
                                 "max_abs_diff": None, "repaired": archive.repaired}
            if archive.path is not None:
                paths.setdefault(archive.path, name)
    files = list(paths)
    loaded, why = load_elsewhere([(paths[path], path) for path in files], loader_code())
    outcomes: Dict[str, List[Any]] = {}
    for path, result in zip(files, loaded):
        outcomes[path] = result[1:]
    for path in files[len(loaded):]:
        outcomes[path] = ["load-failed", conformance.shorten(
            f"the loading interpreter failed: {why}"), None]
    for name, kinds in archives.found.items():
        for kind, archive in kinds.items():
            if archive.path is not None:
                status, detail, diff = outcomes[archive.path]
                found[name][kind].update(status=status, detail=detail, max_abs_diff=diff)
    return found


def judge(found: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """The report's keys: what fails, by kind; the shim's failures are findings."""
    def failing(kind: str, statuses: Tuple[str, ...] = ("out-of-reach",)) -> List[str]:
        return sorted(name for name, kinds in found.items()
                      if kinds[kind]["status"] != "ok" and kinds[kind]["status"] not in statuses)

    return {
        "archive_failures": failing(conformance.REPAIRED),
        "archive_out_of_reach": sorted(
            name for name, kinds in found.items()
            if kinds[conformance.REPAIRED]["status"] == "out-of-reach"),
        "plain_archive_failures": failing(conformance.PLAIN, ()),
    }


def text(rows: List[Dict[str, Any]], report: Dict[str, Any]) -> List[str]:
    """The lines of check's text report for the archives."""
    with_archives = [row for row in rows if row["archives"] is not None]
    if not with_archives:
        return []
    lines = []
    for kind, what in ((conformance.PLAIN, "torch.jit.save"),
                       (conformance.REPAIRED, "pyg_jit_shim.save")):
        ok = [row for row in with_archives if row["archives"][kind]["status"] == "ok"]
        repaired = [row for row in ok if row["archives"][kind]["repaired"]]
        extra = f" ({len(repaired)} repaired)" if kind == conformance.REPAIRED else ""
        lines.append(f"\n{what} archive, then torch.jit.load in a fresh interpreter "
                     f"with torch alone: {len(ok)} of {len(with_archives)}{extra}")
        if kind == conformance.PLAIN:
            continue  # the shim's repair is what the next lines are about
        failing = [row for row in with_archives if row["archives"][kind]["status"] != "ok"]
        width = max([len(row["name"]) for row in failing] + [0])
        for row in failing:
            outcome = row["archives"][kind]
            lines.append("  {:<13} {:<{}}  {}".format(
                outcome["status"], row["name"], width, outcome["detail"]).rstrip())
    return lines


def verdict(report: Dict[str, Any]) -> Optional[str]:
    failures = report["archive_failures"]
    if failures:
        return "FAIL: pyg_jit_shim.save gives no archive that loads: " + ", ".join(failures)
    return None
