"""``check --model`` where the shim leaves the release alone: nothing to
compare without it, and, where PyG itself generates, no file left behind."""

import json
from pathlib import Path

from packaging.version import Version

from tests.helpers import PYG
from tests.model_cli import Service


def test_the_same_release_without_the_shim_is_not_checked_again(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.save(inputs=True)
    result = service.check("--model", "service_model:build_with_sequential",
                           "--inputs", "inputs.pt", "--json")
    report = json.loads(result.stdout)
    without = report["without_shim"]
    assert without["ran"] is False and without["differences"] == []
    assert without["reason"].startswith(f"the shim leaves torch_geometric {PYG} alone")
    assert all(row["without_shim"] is None for row in report["rows"])
    assert result.returncode == (0 if report["ok"] else 1), result.stderr
    rows = {row["name"]: row for row in report["rows"]}
    if Version(PYG) >= Version("2.5.3"):
        assert report["ok"] is True
        assert {row["scripted_vs_eager"]["status"] for row in rows.values()} == {"equal"}
    else:  # before 2.5.0, a MessagePassing layer scripts only through jittable()
        assert report["findings"][0].startswith("the model does not script: ")
        assert rows["conv"]["script"]["status"] == "script-failed"
    # PyG writes each generated module to the temp dir (2.5.1 on): here, the
    # command's own private one.
    assert service.left() == []


def test_a_loaded_model_scripts_from_pyg_2_6_on(tmp_path: Path) -> None:
    # The service's pattern, torch.load then torch.jit.script in a process that
    # never built the layers: 2.5.3 keeps the **kwargs propagate() (#9368).
    service = Service(tmp_path)
    service.save(inputs=False, model="build")
    result = service.check("--model", "model.pt", "--json")
    report = json.loads(result.stdout)
    assert report["model"]["obtained"] == "loaded"
    if Version(PYG) >= Version("2.6.0"):
        assert result.returncode == 0, report["findings"]
    else:
        assert result.returncode == 1, result.stderr
        assert report["findings"][0].startswith("the model does not script: ")
    if PYG == "2.5.3":
        assert any("(#9368)" in note and "MODULE:CALLABLE" in note for note in report["notes"])
    assert service.left() == []
