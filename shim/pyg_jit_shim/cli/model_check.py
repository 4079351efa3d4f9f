"""``pyg-jit-shim check --model``: will this service's own model script in
production with the installed releases, and what did the shim do for it?

The model is examined here, in the command's own process, as a serving
process would meet it: the shim imported first, then ``torch.load`` (or the
user's function that builds it), then ``torch.jit.script``
(:mod:`.model_probe`). Each scripted module is then ``torch.jit.load``-ed in
one fresh interpreter. Where the shim repairs the release, the same model is
examined once more in a child with ``PYG_JIT_SHIM=off``, at the same time,
and every step that differs is named. All files go to one private directory,
removed at the end (:mod:`.scratch`).
"""

import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import __version__, status
from .conformance import shorten
from .model_probe import CannotCheck, probe
from .model_report import render
from .model_verdict import judge
from .pipes import closed_pipe, reader_gone
from .scratch import private_output
from .selftest import CANNOT_CHECK, NOT_INSTALLED, version_line, versions
from .targets import TargetError, split_target

FINDING = 1
# Verdicts under which the shim changed PyG: only there can off differ.
_ACTING = ("patched", "partial", "failed")

# The serving side of an archive: the shim and PyG imported as a service
# imports them (PyG's import registers the ops of optional extensions).
_LOADER = """
import json, sys
import pyg_jit_shim
try:
    import torch_geometric
except ImportError:
    pass
from pyg_jit_shim.cli.model_probe import load_archives
print(json.dumps(load_archives(sys.argv[1:])))
"""
_WITHOUT_SHIM = """
import sys
from pyg_jit_shim.cli.model_check import examine_here
examine_here(*sys.argv[1:])
"""
_POLL_S = 0.2


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _wait(process: "subprocess.Popen[str]", stop: Callable[[], None]) -> str:
    """The child's standard output; ``stop`` is asked in between and may raise.

    Output is read by a thread of communicate() so that a large one cannot
    fill the pipe while this waits."""
    while True:
        try:
            out, err = process.communicate(timeout=_POLL_S)
        except subprocess.TimeoutExpired:
            stop()
            continue
        if process.returncode != 0:
            raise RuntimeError(_last_line(err) or f"exit status {process.returncode}")
        return out


def _start(code: str, args: List[str], directory: str,
           **overrides: str) -> "subprocess.Popen[str]":
    # PyG writes its generated files to the temp dir (2.5.1 on) or its home
    # dir (2.5.0) where the shim does not act: both to the private directory.
    env = dict(os.environ, TMPDIR=directory, PYG_HOME=directory, **overrides)
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _load_in_fresh_interpreter(result: Dict[str, Any], directory: str,
                               stop: Callable[[], None]) -> None:
    saved = [row[step] for row in result["rows"] for step in ("jit_save_load", "shim_save_load")
             if row.get(step, {}).get("status") == "saved" and "archive" in row[step]]
    if saved:
        process = _start(_LOADER, [outcome.pop("archive") for outcome in saved], directory)
        try:
            loaded = json.loads(_last_line(_wait(process, stop)))
        except (RuntimeError, ValueError) as error:  # not a closed pipe: that ends the check
            loaded = [{"status": "load-failed", "max_abs_diff": None,
                       "detail": shorten(f"the loading interpreter failed: {error}")}
                      ] * len(saved)
        finally:
            _end(process)
        for outcome, found in zip(saved, loaded):
            repaired = outcome.get("repaired")
            outcome.clear()
            outcome.update(found)
            if repaired is not None:
                outcome["repaired"] = repaired
    for row in result["rows"]:
        shim = row.get("shim_save_load", {})
        if shim.pop("same_as", None) is not None:
            shim.update({key: value for key, value in row["jit_save_load"].items()
                         if key != "known"})


def _end(process: "subprocess.Popen[str]") -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


def examine(target: str, inputs: Optional[str], directory: str,
            stop: Callable[[], None] = lambda: None) -> Dict[str, Any]:
    """:func:`.model_probe.probe` here, then the archives in a fresh interpreter."""
    result = probe(target, inputs, directory, stop)
    _load_in_fresh_interpreter(result, directory, stop)
    return result


def examine_here(target: str, inputs: str, directory: str) -> None:
    """The child's side (``PYG_JIT_SHIM=off``): the result as a last JSON line."""
    try:
        result = examine(target, inputs or None, directory)
    except CannotCheck as refusal:
        result = {"cannot_check": str(refusal)}
    print(json.dumps(result))


def _stop_when_unread() -> None:
    # Nobody would read the report (``| head`` has what it wanted): stop.
    if reader_gone(sys.stdout):
        raise closed_pipe()


def _head(report: Dict[str, Any]) -> str:
    shim = report["shim"]
    lines = [version_line(report),
             "shim: {} ({}) - {}".format(shim["verdict"], shim["mode"], shim["reason"])]
    if shim["fixes"]:
        lines.append("fixes: " + ", ".join(shim["fixes"]))
    lines.extend("skipped: " + line for line in shim["skipped"])
    return "\n".join(lines)


def _without_shim(verdict: str, mode: str, release: str) -> Optional[str]:
    """Why there is nothing to compare with, or None where there is."""
    if mode == "off":
        return "the shim is off here (PYG_JIT_SHIM=off): this is the check without it"
    if verdict not in _ACTING:
        return (f"the shim leaves torch_geometric {release} alone ({verdict}): "
                "without it, everything is the same")
    return None


def _usage_problem(target: str, inputs: Optional[str]) -> Optional[str]:
    """What can be told wrong before seconds of importing torch."""
    if not os.path.isfile(target):
        if ":" not in target:
            return f"no file {target!r}, and not MODULE:CALLABLE"
        try:
            split_target(target)
        except TargetError as error:
            return str(error)
    if inputs is not None and not os.path.isfile(inputs):
        return f"no file {inputs!r} for --inputs"
    return None


def _both_sides(target: str, inputs: Optional[str], directory: str, reason: Optional[str]
                ) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]], Optional[str]]:
    """This process's examination, and the one without the shim where
    ``reason`` is None: (on, off or None, why there is no off)."""
    here, there = (os.path.join(directory, side) for side in ("on", "off"))
    os.mkdir(here)
    os.mkdir(there)
    on = probe(target, inputs, here, _stop_when_unread)
    child = None
    if reason is None:  # at the same time as this process loads its archives
        child = _start(_WITHOUT_SHIM, [target, inputs or "", there], there,
                       PYG_JIT_SHIM="off")
    try:
        _load_in_fresh_interpreter(on, here, _stop_when_unread)
        if child is None:
            return on, None, reason
        try:
            off = json.loads(_last_line(_wait(child, _stop_when_unread)))
        except (RuntimeError, ValueError) as error:
            return on, None, shorten(f"the check without the shim failed: {error}")
    finally:
        if child is not None:
            _end(child)
    if "cannot_check" in off:
        return on, None, "without the shim, " + off["cannot_check"]
    return on, off, None


def check_model(target: str, inputs: Optional[str], as_json: bool = False) -> int:
    problem = _usage_problem(target, inputs)
    if problem is not None:
        sys.stderr.write(f"pyg-jit-shim: {problem}\n")
        return CANNOT_CHECK
    if as_json:
        _stop_when_unread()  # before seconds of importing torch, for nobody
    found = versions()
    current = status()
    report: Dict[str, Any] = dict(found, shim_version=__version__, shim=current.as_dict())
    if not as_json:
        print(_head(report), flush=True)
    missing = [f"{name} {found[name]}" for name in ("torch", "torch_geometric")
               if found[name] == NOT_INSTALLED or found[name].startswith("not importable")]
    if missing:
        sys.stderr.write("pyg-jit-shim: cannot check the model: " + "; ".join(missing) + "\n")
        return CANNOT_CHECK
    reason = _without_shim(current.verdict, current.mode, found["torch_geometric"])
    with private_output() as directory:
        if directory is None:
            sys.stderr.write("pyg-jit-shim: cannot check the model: no temporary "
                             "directory to save it in\n")
            return CANNOT_CHECK
        try:
            on, off, reason = _both_sides(target, inputs, directory, reason)
        except CannotCheck as refusal:
            sys.stderr.write(f"pyg-jit-shim: {refusal}\n")
            return CANNOT_CHECK
    report.update(judge(on, off, reason))
    _stop_when_unread()
    print(json.dumps(report, indent=2) if as_json else render(report))
    if report["findings"]:
        return FINDING
    return CANNOT_CHECK if report["cannot_compare"] else 0
