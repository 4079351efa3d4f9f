"""``pyg-jit-shim save --model MODEL --out ARCHIVE``: the deployment step.

The model is loaded or built as ``check --model`` meets it (the shim first,
``torch.load`` of a file or a call of ``MODULE:CALLABLE``, eval mode), scripted,
and written with :func:`pyg_jit_shim.save` next to ``ARCHIVE``. That file is
then loaded in a fresh interpreter where neither PyG nor the shim can be
imported, as on a serving host with torch alone, and, with ``--inputs``, run
and compared with the eager model. Only an archive that passes takes the name
``ARCHIVE``; otherwise nothing is left there.
"""

import io
import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

from . import conformance
from .model_check import _usage_problem as model_usage_problem
from .model_probe import CannotCheck, _obtain, cause
from .pipes import closed_pipe, reader_gone
from .scratch import private_output
from .selftest import CANNOT_CHECK, NOT_INSTALLED, version_line, versions

FINDING = 1

# The serving side: torch alone (PyG and the shim refused), the archive
# loaded, run on the inputs and compared, with conformance.py's comparison
# loaded from its file.
_VERIFY = """
import io, json, sys
from importlib import util


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch_geometric", "pyg_jit_shim"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
import torch
spec = util.spec_from_file_location("_comparison", sys.argv[1])
comparison = util.module_from_spec(spec)
spec.loader.exec_module(comparison)
found = {"status": "loaded", "detail": "", "max_abs_diff": None}
try:
    model = torch.jit.load(sys.argv[2], map_location="cpu")
except Exception as error:
    found = {"status": "load-failed", "detail": comparison._one_line(error),
             "max_abs_diff": None}
else:
    if len(sys.argv) > 3:
        data = torch.load(sys.argv[3], weights_only=False)
        try:
            with torch.no_grad():
                actual = model(*data["args"])
        except Exception as error:
            found = {"status": "run-failed", "detail": comparison._one_line(error),
                     "max_abs_diff": None}
        else:
            try:
                close, diff = comparison._compare(torch, data["expected"], actual)
            except ValueError as error:
                found = {"status": "mismatch", "detail": str(error), "max_abs_diff": None}
            else:
                found = {"status": "ok" if close else "mismatch", "max_abs_diff": diff,
                         "detail": "" if close else
                         f"max abs diff {diff:.3g} > atol {comparison.ATOL:g}"}
print(json.dumps(found))
"""


def _usage_problem(target: str, out: str, inputs: Optional[str]) -> Optional[str]:
    problem = model_usage_problem(target, inputs)
    if problem is not None:
        return problem
    directory = os.path.dirname(os.path.abspath(out))
    if os.path.isdir(out):
        return f"--out {out} is a directory"
    if not os.path.isdir(directory):
        return f"--out {out}: no directory {directory}"
    return None


def _verify(archive: str, data: Optional[str], directory: str) -> Dict[str, Any]:
    env = dict(os.environ, TMPDIR=directory, PYG_HOME=directory)
    args = [sys.executable, "-c", _VERIFY, conformance.__file__, archive]
    if data is not None:
        args.append(data)
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    try:
        found: Dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        last = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        return {"status": "load-failed", "max_abs_diff": None,
                "detail": conformance.shorten(f"the loading interpreter failed: {last[0]}")}
    return found


def _text(report: Dict[str, Any]) -> List[str]:
    lines = [f"model: {report['model']}"]
    saved = report.get("saved")
    if saved is not None:
        inlined = [name.rpartition(".")[2] for name in saved["inlined"]]
        how = ("repaired: {} no-op cast(s){}".format(
            saved["casts"], f"; inlined: {', '.join(inlined)}" if inlined else "")
            if saved["repaired"] else "as torch.jit.save writes it (it loads as it is)")
        lines.append(f"written by pyg_jit_shim.save, {how}")
    verified = report.get("verified")
    if verified is not None:
        text = f"torch.jit.load in a fresh interpreter with torch alone: {verified['status']}"
        if verified["detail"]:
            text += f": {verified['detail']}"
        if verified["max_abs_diff"] is not None:
            text += " (max abs diff {:.3g} against eager on --inputs)".format(
                verified["max_abs_diff"])
        lines.append(text)
    if report["finding"] is not None:
        lines.append(f"FAIL: {report['finding']}; nothing was written to {report['archive']}")
    else:
        lines.append(f"OK: {report['archive']} written")
    return lines


def save_model(target: str, out: str, inputs: Optional[str], as_json: bool = False) -> int:
    problem = _usage_problem(target, out, inputs)
    if problem is not None:
        sys.stderr.write(f"pyg-jit-shim: {problem}\n")
        return CANNOT_CHECK
    if as_json and reader_gone(sys.stdout):
        raise closed_pipe()
    found = versions()
    missing = [f"{name} {found[name]}" for name in ("torch", "torch_geometric")
               if found[name] == NOT_INSTALLED or found[name].startswith("not importable")]
    if not as_json:
        print(version_line(found), flush=True)
    if missing:
        sys.stderr.write("pyg-jit-shim: cannot save the model: " + "; ".join(missing) + "\n")
        return CANNOT_CHECK
    report: Dict[str, Any] = dict(found, model=target, archive=out, finding=None)
    with private_output() as directory:
        if directory is None:
            sys.stderr.write("pyg-jit-shim: cannot save the model: no temporary directory\n")
            return CANNOT_CHECK
        try:
            _save(target, out, inputs, directory, report)
        except CannotCheck as refusal:
            sys.stderr.write(f"pyg-jit-shim: {refusal}\n")
            return CANNOT_CHECK
    if reader_gone(sys.stdout):
        raise closed_pipe()
    print(json.dumps(report, indent=2) if as_json else "\n".join(_text(report)))
    return FINDING if report["finding"] is not None else 0


def _save(target: str, out: str, inputs: Optional[str], directory: str,
          report: Dict[str, Any]) -> None:
    """Fills ``report``; the archive takes the name ``out`` only once verified."""
    import torch

    from ..report import ArchiveError
    from ..saving import save
    from .model_probe import _call, _inputs, _with

    model, info = _obtain(target)
    args = _inputs(inputs)
    if model is None:
        report["finding"] = f"{target} does not load: {info['detail']}"
        return
    model.eval()
    try:
        scripted = torch.jit.script(model)
    except Exception as error:
        report["finding"] = f"the model does not script: {cause(error)}"
        return
    data = None
    if args is not None:
        try:
            expected = _call(model, _with(args))
        except Exception as error:
            raise CannotCheck(f"the model raises on --inputs: {cause(error)}") from None
        data = os.path.join(directory, "inputs.pt")
        buffer = io.BytesIO()
        torch.save({"args": args, "expected": expected}, buffer)
        with open(data, "wb") as file:
            file.write(buffer.getvalue())
    staged = os.path.join(os.path.dirname(os.path.abspath(out)),
                          f".{os.path.basename(out)}.{os.getpid()}.staged")
    try:
        try:
            outcome = save(scripted, staged)
        except ArchiveError as error:
            report["finding"] = str(error)
            return
        report["saved"] = {"repaired": outcome.repaired, "casts": outcome.casts,
                           "inlined": list(outcome.inlined)}
        report["verified"] = _verify(staged, data, directory)
        good = "ok" if data is not None else "loaded"
        if report["verified"]["status"] != good:
            report["finding"] = "the archive {} in a fresh interpreter with torch alone".format(
                "does not load" if report["verified"]["status"] == "load-failed"
                else "computes something else than eager")
            return
        os.replace(staged, out)
    finally:
        if os.path.exists(staged):
            os.unlink(staged)
