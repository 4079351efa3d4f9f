"""The text of ``check --model``'s report, after the versions and the shim's
status: the model, one block per module, then the conclusions."""

import textwrap
from typing import Any, Dict, List, Tuple

from .model_verdict import failed_step, join

_LABEL = 20
_WIDTH = 100
_HOW = {"loaded": "torch.load (weights_only=False)", "built": "built by calling it"}
# Outcomes that say why a step did not run, rather than how it ended.
_WHY_NOT = {
    "no-inputs": "not compared: no --inputs",
    "not-scripted": "not run: it does not script",
    "overloaded": "not compared: no forward() to call",
    "not-called": "not compared: the model did not call it on these inputs",
    "eager-failed": "not compared: the eager run raised",
}


def _value(outcome: Dict[str, Any], ran: bool = False) -> str:
    if outcome["status"] in _WHY_NOT and not ran:
        return _WHY_NOT[outcome["status"]]
    text = str(outcome["status"])
    if outcome.get("known"):
        text += f" ({outcome['known']})"
    if outcome.get("detail"):
        text += ": " + outcome["detail"]
    if outcome.get("max_abs_diff") is not None:
        text += " (max abs diff {:.3g})".format(outcome["max_abs_diff"])
    return text


def _line(label: str, text: str) -> List[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent="  " + label.ljust(_LABEL),
                         subsequent_indent=" " * (_LABEL + 4))


def _wrapped(text: str) -> List[str]:
    return textwrap.wrap(text, _WIDTH, subsequent_indent="  ")


def _without(row: Dict[str, Any]) -> str:
    theirs = row["without_shim"]
    if not theirs["differs"]:
        return "the same"
    parts = []
    for step in theirs["differs"]:
        outcome = theirs.get(step)
        status = f" ({outcome['status']})" if outcome is not None else ""
        parts.append(failed_step(step) + status)
    return "; ".join(parts)


def _block(row: Dict[str, Any]) -> List[str]:
    title = "(model)" if row["kind"] == "model" else f"{row['name']} ({row['kind']})"
    module, _, name = row["class"].rpartition(".")
    lines = [f"{title}: {name} ({module})"]
    lines += _line("script", _value(row["script"], ran=True))
    lines += _line("scripted vs eager", _value(row["scripted_vs_eager"]))
    lines += _line("jit.save, jit.load", _value(row["jit_save_load"]))
    if "shim_save_load" in row:
        shim = dict(row["shim_save_load"])
        if shim.pop("repaired", False):
            shim["detail"] = "repaired" + (f"; {shim['detail']}" if shim.get("detail") else "")
        lines += _line("shim save, jit.load", _value(shim))
    if row.get("without_shim") is not None:
        lines += _line("without the shim", _without(row))
    return lines


def _model(report: Dict[str, Any]) -> List[str]:
    model = report["model"]
    how = _HOW.get(model["obtained"], model["obtained"])
    lines = _wrapped(f"model: {model['target']}, {how}" + (
        f": {model['class']}, in eval mode" if "class" in model else f": {model['detail']}"))
    inputs = report["inputs"]
    if inputs is not None:
        lines.append(f"inputs: {inputs['path']}, {inputs['arguments']} positional argument(s)")
    eager = model.get("eager", {})
    if eager.get("status") == "eager-failed":
        lines.extend(_wrapped("eager run: " + eager["detail"]))
    return lines


def _without_shim(without: Dict[str, Any], ok: bool) -> List[str]:
    if without["reason"] is not None:
        return _wrapped(f"Without the shim: not compared; {without['reason']}.")
    needed = [d for d in without["differences"] if d["needed_the_shim"]]
    if not without["differences"]:
        return _wrapped("Without the shim (PYG_JIT_SHIM=off) every step ends the same: " + (
            "this model needs none of its fixes." if ok else
            "the shim neither causes nor cures what is below."))
    if not needed:
        return []
    groups: Dict[Tuple[str, str], List[str]] = {}
    for difference in needed:
        key = (difference["step"], difference["detail"])
        groups.setdefault(key, []).append(
            "the model" if not difference["name"] else repr(difference["name"]))
    lines = ["The shim was needed: without it (PYG_JIT_SHIM=off),"]
    for (step, detail), names in groups.items():
        lines.extend(textwrap.wrap(f"{join(names)}: {failed_step(step)}"
                                   + (f" ({detail})" if detail else ""), _WIDTH,
                                   initial_indent="  ", subsequent_indent="    "))
    return lines


def render(report: Dict[str, Any]) -> str:
    lines = ["", *_model(report)]
    for row in report["rows"]:
        lines.append("")
        lines.extend(_block(row))
    lines.append("")
    lines.extend(_without_shim(report["without_shim"], report["ok"]))
    for finding in report["findings"]:
        lines.extend(_wrapped("FAIL: " + finding))
    if report["cannot_compare"]:
        lines.extend(_wrapped("CANNOT COMPARE: " + report["cannot_compare"]))
    if report["ok"]:
        compared = report["inputs"] is not None
        lines.append("OK: the model scripts" + (
            ", and its scripted output equals eager on the inputs." if compared else "."))
    for note in report["notes"]:
        lines.extend(_wrapped("Note: " + note))
    return "\n".join(lines)
