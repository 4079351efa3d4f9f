"""Read-only file systems: layers build and script with nothing writable but torch's cache.

A service runs in a mount namespace where /tmp, /var/tmp, $HOME and its
working directory are read-only bind mounts; only the cache directory torch
needs at start-up (TORCHINDUCTOR_CACHE_DIR: torch._dynamo, which PyG imports,
creates it) is writable, somewhere else. Upstream PyG writes each generated
module to a file (2.5.0 under ~/.cache/pyg, later releases in the temp dir):
there, 2.5.3 and 2.7.0 script 1 of these 20 cases (the layer with its own
propagate()), 2.5.1 and 2.5.2 too, and 2.5.0 cannot even build 19 of them.
With the shim, which builds generated modules in memory, all 20 script and
match eager.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from tests.helpers import PYG, TIMEOUT, environment

# The service: the shim first, then 20 sample cases, each built, run eagerly,
# scripted and run scripted; then proof that the directories are read-only.
# argv[1]: JSON {"read_only": [...], "writable": "..."}.
CHILD = r"""
import errno, json, os, sys, warnings
warnings.filterwarnings("ignore")
import pyg_jit_shim  # first, as a service does
import torch
import torch_geometric
from torch_geometric.nn import (
    ChebConv, EdgeConv, GATConv, GATv2Conv, GCNConv, GINConv, GraphConv, RGCNConv,
    ResGatedGraphConv, SAGEConv, Sequential, TransformerConv, models,
)
from tests.helpers import graph
from tests.layers import (
    child_elsewhere, commented_call, custom_propagate, hidden_names, tutorial,
)
from tests.layers.typed_call import TypedCall

config = json.loads(sys.argv[1])


def mlp(a, b):
    return torch.nn.Sequential(torch.nn.Linear(a, 16), torch.nn.ReLU(), torch.nn.Linear(16, b))


x, ei = graph()
ew = torch.rand(ei.size(1)) + 0.5
et = torch.arange(ei.size(1)) % 3
CASES = {
    "GCNConv": lambda: (GCNConv(8, 4), (x, ei, ew)),
    "SAGEConv": lambda: (SAGEConv(8, 4), (x, ei)),
    "GINConv": lambda: (GINConv(mlp(8, 4)), (x, ei)),
    "GraphConv": lambda: (GraphConv(8, 4), (x, ei, ew)),
    "ChebConv": lambda: (ChebConv(8, 4, K=2), (x, ei, ew)),
    "EdgeConv": lambda: (EdgeConv(mlp(16, 4)), (x, ei)),
    "ResGatedGraphConv": lambda: (ResGatedGraphConv(8, 4), (x, ei)),
    "RGCNConv": lambda: (RGCNConv(8, 4, num_relations=3, num_bases=2), (x, ei, et)),
    # edge_updater() generated as well; overloaded forward: typed caller
    "GATConv": lambda: (TypedCall(GATConv(8, 4, heads=2)), (x, ei)),
    "GATv2Conv": lambda: (TypedCall(GATv2Conv(8, 4, heads=2)), (x, ei)),
    "TransformerConv": lambda: (TypedCall(TransformerConv(8, 4, heads=2)), (x, ei)),
    "Sequential": lambda: (Sequential("x, edge_index", [
        (GCNConv(8, 16), "x, edge_index -> x"),
        torch.nn.ReLU(inplace=True),
        (SAGEConv(16, 4), "x, edge_index -> x"),
    ]), (x, ei)),
    "models.GCN": lambda: (models.GCN(8, 16, num_layers=2, out_channels=4), (x, ei)),
    "models.GraphSAGE": lambda: (models.GraphSAGE(8, 16, num_layers=2, out_channels=4),
                                 (x, ei)),
    "TutorialGCN": lambda: (tutorial.TutorialGCN(8, 4), (x, ei)),
    "TutorialEdgeConv": lambda: (tutorial.TutorialEdgeConv(8, 4), (x, ei)),
    "ScaledChild": lambda: (child_elsewhere.ScaledChild(), (x, ei)),
    "CommentedCall": lambda: (commented_call.CommentedCall(), (x, ei)),
    "PrivateAlias": lambda: (hidden_names.PrivateAlias(), (x, ei)),
    "OwnPropagate": lambda: (custom_propagate.OwnPropagate(), (x, ei)),
}


def one_line(error):
    text = str(error).strip().splitlines()
    return type(error).__name__ + (": " + text[0][:200] if text else "")


def run(build):
    stage = "build"
    try:
        torch.manual_seed(0)
        module, inputs = build()
        module.eval()
        with torch.no_grad():
            stage = "eager"
            expected = module(*inputs)
            stage = "script"
            actual = torch.jit.script(module)(*inputs)
        diff = float((expected - actual).abs().max())
        return "scripted" if diff <= 1e-6 else "mismatch: max abs diff %g" % diff
    except Exception as error:
        return "%s failed: %s" % (stage, one_line(error))


def probe(directory):
    path = os.path.join(directory, ".pyg_jit_shim_probe_%d" % os.getpid())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    os.close(fd)
    os.unlink(path)
    return "writable"


results = {name: run(build) for name, build in CASES.items()}
try:
    import tempfile
    tempdir = "usable: " + tempfile.gettempdir()
except Exception as error:
    tempdir = one_line(error)
print(json.dumps({
    "pyg": torch_geometric.__version__,
    "verdict": pyg_jit_shim.status().verdict,
    "results": results,
    "probes": {d: probe(d) for d in config["read_only"]},
    "cwd_relative": probe("."),
    "writable": probe(config["writable"]),
    "home": os.path.realpath(os.path.expanduser("~")),
    "cwd": os.path.realpath(os.getcwd()),
    "tempdir": tempdir,
}))
"""

# Runs in the new mount namespace: makes each directory read-only, then
# becomes the service. "$@": python, code, argument, directories.
MOUNT = """
python=$1; code=$2; argument=$3; writable=$4; shift 4
for directory in "$@"; do
    mount --bind "$directory" "$directory" &&
    mount -o remount,ro,bind "$directory" "$directory" || exit 97
done
case "$writable" in
    /dev/shm/*) ;;
    # no /dev/shm: a writable bind mount of its own, below the read-only /tmp
    *) mount --bind "$writable" "$writable" &&
       mount -o remount,rw,bind "$writable" "$writable" || exit 98 ;;
esac
# The working directory was entered before the mounts: enter the read-only one.
cd "$PWD" || exit 99
exec "$python" -c "$code" "$argument"
"""


def _writable_directory(base: Path) -> str:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(str(shm), os.W_OK):
        return tempfile.mkdtemp(prefix="pyg_jit_shim_ro_", dir=str(shm))
    path = base / "writable"
    path.mkdir()
    return str(path)


def _read_only_directories(home: Path, cwd: Path) -> List[str]:
    candidates = ["/tmp", "/var/tmp", "/usr/tmp", str(home), str(cwd)]
    # The real home directory too, wherever HOME points.
    for real_home in (os.path.expanduser("~"), pwd.getpwuid(os.getuid()).pw_dir):
        if real_home and os.path.realpath(real_home) != "/":
            candidates.append(real_home)
    found: List[str] = []
    for candidate in candidates:
        if os.path.isdir(candidate) and not os.path.islink(candidate):
            real = os.path.realpath(candidate)
            if real not in found:
                found.append(real)
    return found


def run_read_only(base: Path, mode: Optional[str] = None) -> Dict[str, Any]:
    """The service, in a mount namespace with read-only directories; its report.

    ``mode``: the value of PYG_JIT_SHIM (None: unset, the shim is active).
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("this test needs util-linux's `unshare` to mount directories "
                    "read-only in a mount namespace; it is not on PATH")
    home, cwd = base / "home", base / "cwd"
    home.mkdir()
    cwd.mkdir()
    writable = _writable_directory(base)
    read_only = _read_only_directories(home, cwd)
    env = environment(
        HOME=str(home), PYG_JIT_SHIM=mode,
        # what torch itself needs at start-up, as such a service sets it
        TORCHINDUCTOR_CACHE_DIR=os.path.join(writable, "torchinductor"),
        # nothing else may point somewhere writable
        TMPDIR=None, TEMP=None, TMP=None, PYG_HOME=None, XDG_CACHE_HOME=None,
    )
    # The service runs elsewhere: relative entries would no longer resolve.
    env["PYTHONPATH"] = os.pathsep.join(
        os.path.abspath(entry) for entry in env["PYTHONPATH"].split(os.pathsep) if entry)
    argument = json.dumps({"read_only": read_only, "writable": writable})
    options = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:  # mounting needs root: that of a user namespace then
        options.insert(0, "--map-root-user")
    try:
        result = subprocess.run(
            [unshare, *options, "--", "sh", "-c", MOUNT, "sh",
             sys.executable, CHILD, argument, writable, *read_only],
            env=env, cwd=str(cwd), capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
    finally:
        shutil.rmtree(writable, ignore_errors=True)
    if result.returncode != 0:
        pytest.fail(f"the read-only service failed ({result.returncode}; 97: a directory "
                    f"could not be mounted read-only, which needs root or user "
                    f"namespaces, and mount namespaces):\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-6000:]}")
    report: Dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    report["read_only"] = read_only
    return report


def test_layers_build_and_script_on_read_only_file_systems(tmp_path: Path) -> None:
    report = run_read_only(tmp_path)
    assert report["pyg"] == PYG
    assert report["verdict"] == "patched"
    # The directories really are read-only, and nowhere else is a temp dir.
    assert {"/tmp", "/var/tmp"} <= set(report["read_only"])
    assert report["probes"] == {d: "EROFS" for d in report["read_only"]}
    assert report["home"] in report["read_only"]
    assert report["cwd"] in report["read_only"]
    assert report["cwd_relative"] == "EROFS"
    assert report["writable"] == "writable"
    assert "No usable temporary directory" in report["tempdir"], report["tempdir"]
    # All 20 cases script and match eager.
    results = report["results"]
    assert len(results) == 20
    assert {name: outcome for name, outcome in results.items()
            if outcome != "scripted"} == {}


if __name__ == "__main__":  # the record: python -m tests.affected.test_read_only [mode]
    with tempfile.TemporaryDirectory() as scratch:
        found = run_read_only(Path(scratch), sys.argv[1] if len(sys.argv) > 1 else None)
    scripted = sum(outcome == "scripted" for outcome in found["results"].values())
    print(json.dumps(found, indent=1))
    print(f"PyG {found['pyg']} ({found['verdict']}): {scripted} of "
          f"{len(found['results'])} scripted")
