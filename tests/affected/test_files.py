"""Nothing is written anywhere, unless PYG_JIT_SHIM_DUMP_DIR asks for copies."""

import os
import stat
from pathlib import Path
from typing import Dict, List

from tests.helpers import environment, last_json, run_python

BUILD = """
import json, sys
import pyg_jit_shim, torch
from torch_geometric.nn import GATv2Conv, GCNConv, Sequential
from torch_geometric.nn.models import GCN
from tests.layers.tutorial import TutorialGCN
layers = [GCNConv(4, 4), GATv2Conv(4, 4), GCN(4, 8, 2), TutorialGCN(4, 4),
          Sequential("x, edge_index", [(GCNConv(4, 4), "x, edge_index -> x")])]
for layer in layers:
    torch.jit.script(layer)
generated = {name: module.__loader__.get_source(name) for name, module in sys.modules.items()
             if (getattr(module, "__file__", None) or "").startswith("<pyg_jit_shim>/")}
print(json.dumps(generated))
"""


def _files(*roots: Path) -> List[str]:
    return sorted(str(path) for root in roots for path in root.rglob("*"))


def _dirs(tmp_path: Path, *names: str) -> Dict[str, Path]:
    made = {name: tmp_path / name for name in names}
    for path in made.values():
        path.mkdir()
    return made


def test_no_file_in_temp_home_or_working_directory(tmp_path: Path) -> None:
    d = _dirs(tmp_path, "tmp", "home", "cwd", "torch-cache")
    # 2.5.0 alone writes under ~/.cache/pyg; every affected release alone writes
    # one temp file per layer class and per Sequential, and never removes them.
    run_python(BUILD, env=environment(
        TMPDIR=str(d["tmp"]), HOME=str(d["home"]), TORCHINDUCTOR_CACHE_DIR=str(d["torch-cache"]),
        TORCH_GEOMETRIC_HOME=None), cwd=d["cwd"])
    assert _files(d["tmp"], d["home"], d["cwd"]) == []


def _dump(dump: Path) -> Dict[str, str]:
    result = run_python(BUILD, env=environment(PYG_JIT_SHIM_DUMP_DIR=str(dump)))
    generated: Dict[str, str] = last_json(result)
    return generated


def test_dump_dir_holds_each_generated_source(tmp_path: Path) -> None:
    dump = tmp_path / "debug" / "generated"
    generated = _dump(dump)
    assert len(generated) == 5  # GCNConv, GATv2Conv (2), TutorialGCN, Sequential
    for directory in (dump, dump.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    written = {path.name: path for path in dump.iterdir()}
    assert sorted(written) == sorted(name + ".py" for name in generated)
    for name, source in generated.items():
        path = written[name + ".py"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == source


def test_dump_is_never_read_back_or_executed(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir(mode=0o700)
    planted = dump / "tests.layers.tutorial_TutorialGCN_propagate.py"
    planted.write_text("raise SystemExit('executed from the dump directory')\n")
    generated = _dump(dump)
    # The layer built from memory, and the file now holds what was generated.
    assert planted.read_text() == generated["tests.layers.tutorial_TutorialGCN_propagate"]


def test_dump_never_follows_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    # A symlinked file inside the dump directory is replaced, not written through.
    dump = tmp_path / "dump"
    dump.mkdir(mode=0o700)
    link = dump / "tests.layers.tutorial_TutorialGCN_propagate.py"
    link.symlink_to(victim)
    _dump(dump)
    assert victim.read_text() == "untouched"
    assert not link.is_symlink()
    # A dump directory that is itself a symlink is refused, once, and the
    # service carries on.
    linked_dir = tmp_path / "linked"
    linked_dir.symlink_to(target)
    result = run_python(BUILD, env=environment(PYG_JIT_SHIM_DUMP_DIR=str(linked_dir)))
    assert len(last_json(result)) == 5
    assert os.listdir(target) == []
    (message,) = [line for line in result.stderr.splitlines() if "PYG_JIT_SHIM_DUMP_DIR" in line]
    assert f"{linked_dir} is a symbolic link (to {target})" in message
    assert "NotADirectoryError" not in message


def test_dump_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    dump = tmp_path / "shared"
    dump.mkdir()
    dump.chmod(0o777)
    result = run_python(BUILD, env=environment(PYG_JIT_SHIM_DUMP_DIR=str(dump)))
    assert len(last_json(result)) == 5
    assert os.listdir(dump) == []
    (message,) = [line for line in result.stderr.splitlines() if "PYG_JIT_SHIM_DUMP_DIR" in line]
    assert "others can write to it" in message
