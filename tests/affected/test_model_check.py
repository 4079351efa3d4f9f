"""``pyg-jit-shim check --model`` on the releases the shim repairs: the
service's own model, built by its function or loaded from its torch.save
file, scripted, compared with eager, saved and loaded, and checked again
without the shim to name what needed it."""

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pyg_jit_shim.patches.sequential_pickle import message
from tests.helpers import PYG, run_python
from tests.model_cli import MODEL_SOURCE, Service


def _rows(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {row["name"]: row for row in report["rows"]}


def _needed(report: Dict[str, Any], step: str) -> List[str]:
    return sorted(difference["name"] for difference in report["without_shim"]["differences"]
                  if difference["step"] == step and difference["needed_the_shim"])


def test_a_model_built_by_its_function_with_a_sequential(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.save(inputs=True)
    result = service.check("--model", "service_model:build_with_sequential",
                           "--inputs", "inputs.pt", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["torch_geometric"] == PYG and report["shim"]["verdict"] == "patched"
    assert report["model"] == {
        "target": "service_model:build_with_sequential", "form": "callable",
        "obtained": "built", "detail": "", "class": "service_model.Net",
        "eager": {"status": "ok", "detail": ""}}
    assert report["inputs"] == {"path": "inputs.pt", "arguments": 2}
    rows = _rows(report)
    assert {name: row["kind"] for name, row in rows.items()} == {
        "": "model", "conv": "MessagePassing", "custom": "MessagePassing",
        "tail": "Sequential", "tail.module_0": "MessagePassing"}
    assert rows["custom"]["class"] == "service_model.Doubled"
    # Each scripted alone, called with what the model's forward gave it.
    for row in rows.values():
        assert row["script"] == {"status": "scripted", "detail": ""}
        assert row["scripted_vs_eager"]["status"] == "equal"
        assert row["scripted_vs_eager"]["max_abs_diff"] <= 1e-6
    # torch.jit.save's archive of anything with GCNConv does not load, on every
    # release: reported, and named as such, but not a failure. pyg_jit_shim.save's
    # loads, repaired where torch.jit.save's does not, the same bytes elsewhere.
    assert rows["custom"]["jit_save_load"]["status"] == "ok"
    assert rows["custom"]["shim_save_load"]["repaired"] is False
    for name in ("", "conv", "tail", "tail.module_0"):
        outcome = rows[name]["jit_save_load"]
        assert outcome["status"] == "load-failed"
        assert "Type mismatch" in outcome["detail"] and "#8867" in outcome["known"]
        assert rows[name]["shim_save_load"]["repaired"] is True
    for row in rows.values():
        assert row["shim_save_load"]["status"] == "ok", row
        assert row["shim_save_load"]["max_abs_diff"] <= 1e-6
    assert report["findings"] == [] and report["ok"] is True
    assert any("#8867" in note and "pyg_jit_shim.save" in note for note in report["notes"])
    # Without the shim, GCNConv does not script on 2.5.2: the generator leaves
    # out the layer's imports (#9115), which GCNConv's types need and the
    # custom layer's do not.
    without = report["without_shim"]
    assert without["ran"] is True and without["reason"] is None
    assert all(difference["needed_the_shim"] for difference in without["differences"])
    if PYG == "2.5.2":
        assert _needed(report, "script") == ["", "conv", "tail", "tail.module_0"]
        assert rows["conv"]["without_shim"]["script"]["status"] == "script-failed"
        assert "variable number of arguments" in rows["conv"]["without_shim"]["script"]["detail"]
    else:  # 2.5.0 and 2.5.1 script a model that this process built
        assert _needed(report, "script") == []
    assert service.left() == []


@pytest.mark.only_on("2.5.2")  # the command's own logic
def test_a_model_loaded_from_its_torch_save_file(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.save(inputs=True, model="build")
    result = service.check("--model", "model.pt", "--inputs", "inputs.pt")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert ("model: model.pt, torch.load (weights_only=False): service_model.Net, in eval mode"
            in lines)
    assert "inputs: inputs.pt, 2 positional argument(s)" in lines
    assert "OK: the model scripts, and its scripted output equals eager on the inputs." in lines
    # Restored layers keep the **kwargs propagate() on every 2.5.x without
    # the shim (#9368): the service's pattern, load then script, needs it.
    needed = lines.index("The shim was needed: without it (PYG_JIT_SHIM=off),")
    summary = " ".join(" ".join(lines[needed:]).split())  # wrapped at 100 columns
    assert "the model, 'conv' and 'custom': does not script" in summary
    assert "Compiled functions can't take variable number of arguments" in summary
    blocks = "\n".join(lines)
    assert "(model): Net (service_model)\n  script              scripted\n" in blocks
    assert "conv (MessagePassing): GCNConv (torch_geometric.nn.conv.gcn_conv)" in blocks
    assert "Note: torch.jit.save then torch.jit.load in a fresh interpreter fails" in blocks
    assert service.left() == []


@pytest.mark.only_on("2.5.2")  # the command's own logic
def test_a_model_that_does_not_script_names_the_cause(tmp_path: Path) -> None:
    service = Service(tmp_path)
    result = service.check("--model", "service_model:build_unscriptable", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    helper = 1 + MODEL_SOURCE.read_text().splitlines().index(
        "    def helper(self, x: Tensor, *rest: Tensor) -> Tensor:")
    rows = _rows(report)
    cause = (f"NotSupportedError: Compiled functions can't take variable number of arguments "
             f"or use keyword-only arguments with defaults (at {service.work}"
             f"/service_model.py, line {helper})")
    # The model and, scripted alone, the layer itself: the same cause, not
    # TorchScript's "Can't redefine method" of a second attempt.
    assert rows[""]["script"] == {"status": "script-failed", "detail": cause}
    assert rows["tail"]["script"] == {"status": "script-failed", "detail": cause}
    assert rows["conv"]["script"]["status"] == "scripted"
    assert report["findings"][0] == (
        f"the model does not script: {cause}; scripted alone, 'tail' does not script either")
    assert report["ok"] is False
    assert rows["conv"]["scripted_vs_eager"]["status"] == "no-inputs"
    assert any(note.startswith("no --inputs") for note in report["notes"])
    assert service.left() == []


@pytest.mark.only_on("2.5.2")  # the command's own logic
def test_scripted_output_that_differs_from_eager_is_a_finding(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.save(inputs=True)
    result = service.check("--model", "service_model:build_diverging", "--inputs", "inputs.pt",
                           "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    rows = _rows(report)
    # The layer adds 1 once scripted: the model and the layer alone differ by 1,
    # and so does the layer's archive, loaded in a fresh interpreter.
    for name in ("", "tail"):
        assert rows[name]["script"]["status"] == "scripted"
        outcome = rows[name]["scripted_vs_eager"]
        assert outcome["status"] == "mismatch"
        assert abs(outcome["max_abs_diff"] - 1.0) < 1e-5
    assert rows["tail"]["jit_save_load"]["status"] == "mismatch"
    assert rows["conv"]["scripted_vs_eager"]["status"] == "equal"
    assert report["findings"] == [
        "scripted, the model differs from eager: max abs diff 1 > atol 1e-06",
        "scripted, 'tail' differs from eager: max abs diff 1 > atol 1e-06",
        "after torch.jit.save and torch.jit.load, 'tail' differs from eager: "
        "max abs diff 1 > atol 1e-06",
    ]
    assert service.left() == []


@pytest.mark.only_on("2.5.2")  # the command's own logic
def test_a_pickled_sequential_loads_and_scripts(tmp_path: Path) -> None:
    # Pickled with the shim, a Sequential's class is rebuilt from PyG's own
    # Sequential() where it is loaded (sequential-pickle).
    service = Service(tmp_path)
    service.save(inputs=False, model="build_with_sequential")
    result = service.check("--model", "model.pt", "--json")
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert result.returncode == 0, report["findings"]
    assert report["model"]["obtained"] != "load-failed", report["model"]
    assert _rows(report)["tail"]["script"]["status"] == "scripted"
    assert service.left() == []


def test_a_sequential_pickled_without_the_shim_is_explained_whole(tmp_path: Path) -> None:
    # Pickled with the shim off, a 2.5.x Sequential names the module PyG
    # generated for it in that process: the shim's own error says why it
    # cannot load and both ways out, and the report prints all of it.
    service = Service(tmp_path)
    training = tmp_path / "training-tmp"
    training.mkdir()
    run_python("import torch, service_model\n"
               "torch.save(service_model.build_with_sequential(), 'model.pt')\n",
               # PyG 2.5.0 alone writes its modules under ~/.cache/pyg.
               env=dict(service.env, PYG_JIT_SHIM="off", TMPDIR=str(training),
                        HOME=str(training)),
               cwd=service.work)
    service.own = sorted(path.name for path in service.work.iterdir())
    result = service.check("--model", "model.pt")
    assert result.returncode == 1, result.stdout + result.stderr
    text = " ".join(result.stdout.split())  # wrapped at 100 columns
    module = re.search(r"No module named '(torch_geometric\.nn\.sequential_\w+)'", text)
    assert module is not None, result.stdout
    explained = "SequentialPickleError: " + message(module.group(1))
    assert explained.endswith("or save the model again with pyg_jit_shim imported first "
                              "(such pickles load in any process with this PyG release).")
    assert f"model: model.pt, load-failed: {explained}" in text
    assert (f"FAIL: model.pt does not load in a process that did not build it: {explained} "
            "Check the model built by that code with --model MODULE:CALLABLE.") in text
    # Said once: not followed by the check's own account of the same cause.
    assert "A torch_geometric.nn.Sequential pickled on PyG 2.5.x" not in text
    assert service.left() == []


@pytest.mark.only_on("2.5.2")  # the command's own logic
def test_a_model_that_torchscript_cannot_write_is_reported(tmp_path: Path) -> None:
    # Its own forward has an untyped `scale=None`: out of the shim's reach, so
    # a note that names it and what to change, not a finding.
    service = Service(tmp_path)
    result = service.check("--model", "service_model:build_unsavable", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    model = _rows(report)[""]
    assert model["shim_save_load"]["status"] == "out-of-reach"
    assert "UntypedDefault.forward(scale=None)" in model["shim_save_load"]["detail"]
    assert any(note.startswith("pyg_jit_shim.save cannot write the model: ")
               and "annotating it" in note for note in report["notes"])
    assert _rows(report)["conv"]["shim_save_load"]["status"] == "loaded"  # no --inputs to run it on
    assert service.left() == []
