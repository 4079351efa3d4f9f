"""What ``check --model`` concludes: findings, notes, and what the shim did.

The question is whether the model works in a serving process that loads (or
builds) it and scripts it there. So a finding (exit status 1) is: the model
does not load there, does not script, or a scripted module computes
something else than eager; or anything that works without the shim and not
with it; or an archive written by ``pyg_jit_shim.save`` that does not load
or computes something else. ``torch.jit.save``'s own archive fails to load
for GCNConv and others on every release (PyG #8867): its failures are notes,
except a loaded module that runs and computes something else, which nobody
would notice.
"""

import re
from typing import Any, Dict, List, Optional, Tuple

# (step, where it is kept, good outcomes, outcomes that mean "not reached").
_STEPS: Tuple[Tuple[str, str, Tuple[str, ...], Tuple[str, ...]], ...] = (
    ("obtained", "model", ("loaded", "built"), ()),
    ("eager", "model", ("ok",), ("no-inputs",)),
    ("script", "row", ("scripted", "overloaded"), ()),
    ("scripted_vs_eager", "row", ("equal",),
     ("no-inputs", "not-scripted", "not-called", "eager-failed", "overloaded")),
    ("jit_save_load", "row", ("ok", "loaded"), ("not-scripted",)),
    ("shim_save_load", "row", ("ok", "loaded"), ("not-scripted",)),
)
# What a step that failed means, for a sentence about a module.
_FAILED = {
    "obtained": "does not load", "eager": "raises eagerly on the inputs",
    "script": "does not script", "scripted_vs_eager": "differs from eager when scripted",
    "jit_save_load": "does not survive torch.jit.save and torch.jit.load",
    "shim_save_load": "does not survive pyg_jit_shim.save and torch.jit.load",
}

# Failures of torch.jit.save/load that PyG's own layers have on every release:
# (pattern, short, why).
_KNOWN = (
    (re.compile(r"Type mismatch: \w+ is set to type \S+ in the true branch and type \S+"),
     "#8867: TorchScript's own, on every PyG release",
     "TorchScript's printer writes an if/else that assigns two variables as one tuple "
     "assignment, without their Union type, and cannot compile that back"),
    (re.compile(r"strides\(\) called on an undefined Tensor"),
     "TorchScript's own, on every PyG release",
     "torch.jit.save cannot write a compiled function whose Tensor argument defaults to "
     "None"),
)
# A layer restored by torch.load keeps MessagePassing's **kwargs propagate().
_RESTORED = re.compile(r"variable number of arguments.*torch_geometric.nn.conv.message_passing")
_RESTORED_ADVICE = (
    "PyG 2.5.x restores a layer with torch.load without generating its propagate() (#9368): "
    "in a process that never built the layer's class, it does not script. PyG 2.6 fixes "
    "that, and so does the shim on 2.5.0-2.5.2; elsewhere, build the model in the serving "
    "process and load its state_dict, and check that with --model MODULE:CALLABLE.")
# How a load failure that the shim explains begins (patches/sequential_pickle.py):
# what is judged here is JSON, from this process or the one without the shim.
_EXPLAINED = "SequentialPickleError: "
_SERVE = ("Ship the archive pyg_jit_shim.save writes (pyg-jit-shim save --model), or "
          "script in the serving process.")


def _not_loaded(model: Dict[str, Any]) -> str:
    said = (f"{model['target']} does not load in a process that did not build it: "
            f"{model['detail']}")
    if model["detail"].startswith(_EXPLAINED):
        # The shim's own error says why and what to do: not a second time.
        return said + " Check the model built by that code with --model MODULE:CALLABLE."
    return said + (
        ". A torch_geometric.nn.Sequential pickled on PyG 2.5.x names a module generated "
        "in the process that built it (PyG 2.6 made Sequential picklable, #9369): save the "
        "state_dict and build the model in the serving process (check that with --model "
        "MODULE:CALLABLE).")


def known_cause(detail: str) -> Optional[Tuple[str, str]]:
    for pattern, short, why in _KNOWN:
        if pattern.search(detail):
            return short, why
    return None


def _outcome(side: Dict[str, Any], row: Optional[Dict[str, Any]], step: str,
             where: str) -> Optional[Dict[str, Any]]:
    if where == "model":
        found = side["model"].get(step)
        if isinstance(found, str):  # "obtained" is kept flat
            return {"status": found, "detail": side["model"].get("detail", "")}
        return found  # type: ignore[no-any-return]
    return None if row is None else row.get(step)  # type: ignore[no-any-return]


def _differences(on: Dict[str, Any], off: Dict[str, Any],
                 on_row: Optional[Dict[str, Any]], off_row: Optional[Dict[str, Any]],
                 where: str, name: str) -> List[Dict[str, Any]]:
    """Each step that succeeds on one side only, where both reached it."""
    found: List[Dict[str, Any]] = []
    for step, kept, good, unreached in _STEPS:
        if kept != where:
            continue
        mine = _outcome(on, on_row, step, where)
        theirs = _outcome(off, off_row, step, where)
        if mine is None or theirs is None:
            continue
        if mine["status"] in unreached or theirs["status"] in unreached:
            continue
        if (mine["status"] in good) == (theirs["status"] in good):
            continue
        failed = theirs if mine["status"] in good else mine
        found.append({"name": name, "step": step, "needed_the_shim": mine["status"] in good,
                      "with_shim": mine["status"], "without_shim": theirs["status"],
                      "detail": failed["detail"]})
    return found


def _compare_rows(on: Dict[str, Any], off: Optional[Dict[str, Any]],
                  rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Fills each row's ``without_shim``; returns every difference."""
    if off is None:
        for row in rows:
            row["without_shim"] = None
        return []
    differences = _differences(on, off, None, None, "model", "")
    # By name: a 2.5.x Sequential's class has another random name in each process.
    theirs_by_name = {row["name"]: row for row in off.get("rows", [])}
    for row in rows:
        theirs = theirs_by_name.get(row["name"])
        if theirs is None:
            row["without_shim"] = None
            continue
        mine = _differences(on, off, row, theirs, "row", row["name"])
        if row["kind"] == "model":
            mine = [d for d in differences if d["name"] == ""] + mine
        row["without_shim"] = {
            step: {"status": theirs[step]["status"], "detail": theirs[step]["detail"]}
            for step in ("script", "scripted_vs_eager", "jit_save_load", "shim_save_load")
            if step in theirs}
        row["without_shim"]["differs"] = [d["step"] for d in mine]
        differences.extend(d for d in mine if d not in differences)
    return differences


def _save_load_notes(rows: List[Dict[str, Any]]) -> List[str]:
    failing = [row for row in rows if row["jit_save_load"]["status"]
               in ("save-failed", "load-failed", "run-failed")]
    causes: Dict[Tuple[str, str], List[str]] = {}
    unknown = []
    for row in rows:
        row["jit_save_load"].setdefault("known", None)
    for row in failing:
        outcome = row["jit_save_load"]
        known = known_cause(outcome["detail"])
        outcome["known"] = None if known is None else known[0]
        if known is None:
            unknown.append(label(row))
        else:
            causes.setdefault(known, []).append(label(row))
    notes = [f"torch.jit.save then torch.jit.load in a fresh interpreter fails for "
             f"{join(names)} ({short}): {why}. {_SERVE}"
             for (short, why), names in causes.items()]
    if unknown:
        notes.append(f"torch.jit.save then torch.jit.load in a fresh interpreter fails for "
                     f"{join(unknown)} (above). {_SERVE}")
    return notes


def _shim_archive(row: Dict[str, Any], findings: List[str], notes: List[str]) -> None:
    outcome = row.get("shim_save_load")
    if outcome is None or outcome["status"] in ("ok", "loaded", "not-scripted"):
        return
    if outcome["status"] == "out-of-reach":
        notes.append(f"pyg_jit_shim.save cannot write {label(row)}: {outcome['detail']}")
    elif outcome["status"] == "mismatch" and row["scripted_vs_eager"]["status"] == "mismatch":
        # The archive carries the scripted module's own difference, found above.
        return
    else:
        findings.append(f"{label(row)} {_FAILED['shim_save_load']}: {outcome['status']}: "
                        f"{outcome['detail']}")


def label(row: Dict[str, Any]) -> str:
    return "the model" if row["kind"] == "model" else repr(row["name"])


def join(names: List[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _plural(names: List[str], singular: str, plural: str) -> str:
    return singular if len(names) == 1 else plural


def _whole_model(model: Dict[str, Any], whole: Dict[str, Any], rows: List[Dict[str, Any]],
                 findings: List[str], notes: List[str]) -> Optional[str]:
    """Findings and notes on the whole model's scripting; why it could not
    be compared with eager, if so."""
    parts = [row for row in rows if row["kind"] != "model"]
    if whole["script"]["status"] != "scripted":
        alone = [label(row) for row in parts if row["script"]["status"] == "script-failed"]
        findings.append("the model does not script: " + whole["script"]["detail"] + (
            "; scripted alone, {} {} not script either".format(
                join(alone), _plural(alone, "does", "do")) if alone else ""))
        if model["form"] == "file" and _RESTORED.search(whole["script"]["detail"]):
            notes.append(_RESTORED_ADVICE)
    else:
        apart = [label(row) for row in parts if row["script"]["status"] != "scripted"]
        if apart:
            notes.append("scripted alone, {} {} no forward() to call (above); as part "
                         "of the model, {} scripts.".format(
                             join(apart), _plural(apart, "has", "have"),
                             _plural(apart, "it", "each")))
    eager = model["eager"]
    if eager["status"] == "no-inputs":
        notes.append("no --inputs: scripted outputs were not compared with eager ones.")
    if eager["status"] == "eager-failed":
        return "the model raised on the inputs: " + str(eager["detail"])
    return None


def judge(on: Dict[str, Any], off: Optional[Dict[str, Any]],
          reason: Optional[str]) -> Dict[str, Any]:
    """The report's conclusions from this process's examination (``on``) and
    the one without the shim (``off``, None where ``reason`` says why)."""
    model = on["model"]
    rows: List[Dict[str, Any]] = on["rows"]
    findings: List[str] = []
    notes: List[str] = []
    cannot_compare = None
    if model["obtained"] == "load-failed":
        findings.append(_not_loaded(model))
    whole = next((row for row in rows if row["kind"] == "model"), None)
    if whole is not None:
        cannot_compare = _whole_model(model, whole, rows, findings, notes)
    for row in rows:
        outcome = row["scripted_vs_eager"]
        if outcome["status"] == "mismatch":
            findings.append(f"scripted, {label(row)} differs from eager: {outcome['detail']}")
        elif outcome["status"] == "run-failed":
            (findings if row is whole else notes).append(
                f"scripted, {label(row)} raises where eager did not: {outcome['detail']}")
        if row["jit_save_load"]["status"] == "mismatch":
            findings.append(f"after torch.jit.save and torch.jit.load, {label(row)} differs "
                            f"from eager: {row['jit_save_load']['detail']}")
        _shim_archive(row, findings, notes)
    notes.extend(_save_load_notes(rows))
    differences = _compare_rows(on, off, rows)
    for broken in differences:
        if not broken["needed_the_shim"]:
            findings.append(
                "with the shim, {} {}, and without it not: {} (the shim must never break "
                "what works without it)".format(
                    "the model" if not broken["name"] else repr(broken["name"]),
                    _FAILED[broken["step"]], broken["detail"]))
    without = {"ran": off is not None, "reason": reason,
               "model": None if off is None else off["model"], "differences": differences}
    return {"model": model, "inputs": on["inputs"], "rows": rows, "without_shim": without,
            "findings": findings, "notes": notes, "cannot_compare": cannot_compare,
            "ok": not findings and cannot_compare is None}


def failed_step(step: str) -> str:
    """``"does not script"`` and the like, for a sentence about a module."""
    return _FAILED[step]
