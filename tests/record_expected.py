"""Regenerate ``shim/pyg_jit_shim/cli/expected_2_5_3.json`` from PyG 2.5.3.

Runs the conformance table (``pyg_jit_shim.cli.conformance``) on the installed
PyG, which must be exactly 2.5.3, the reference release, prints the table
and writes ``{"pyg": ..., "torch": ..., "cases": {name: status},
"jit_save_load": {name: outcome}}`` with sorted keys next to the module::

    PYTHONPATH=/path/to/pyg-2.5.3:shim python tests/record_expected.py
    PYTHONPATH=/path/to/pyg-2.5.3:shim python tests/record_expected.py --check

``--check`` writes nothing and exits 1 when the recorded file differs.

``jit_save_load`` covers every case that is "scripted": ``save_scripted``
saves it here with ``torch.jit.save``, then ONE fresh process in which
``torch_geometric``, ``pyg_jit_shim`` and ``tests`` cannot be imported runs
``check_saved`` on every file. The outcome is ``check_saved``'s status
("ok", "load-failed", "run-failed", "mismatch"), or "save-failed" when
``torch.jit.save`` itself raised. On 2.5.3 two kinds of failure occur, both
TorchScript serialization limits hit by PyG's own layer code, not by the
generated ``propagate`` (the same mapping with torch 2.13 and torch 2.2.2; on
2.7.0 too, except that RGATConv no longer scripts there at all):

* "load-failed", ``Type mismatch: edge_index1 is set to type Tensor in the
  true branch and type __torch__.torch_geometric.typing.SparseTensor in the
  false branch`` (GCNConv, SGConv, TAGConv, ARMAConv, APPNP, GCN2Conv, ...;
  RGCNConv/FastRGCNConv and SimpleConv the same with a Tuple vs Tensor ``x``):
  ``forward`` narrows a ``Union``-typed argument (``Adj =
  Union[Tensor, SparseTensor]``, ``Union[OptTensor, Tuple[OptTensor, Tensor]]``,
  ``Union[Tensor, OptPairTensor]``) with ``isinstance`` and reassigns it in
  both branches (e.g. GCNConv's cached ``gcn_norm``). TorchScript saves code,
  not graphs: the printed code assigns one variable a Tensor in one branch and
  a SparseTensor in the other, without the ``Union`` annotation the Python
  source had, and the compiler that re-reads it at ``torch.jit.load`` cannot
  join the two types. Layers that only read such an argument (SAGEConv,
  GINConv, GraphConv, ...) round-trip.
* "save-failed", ``strides() called on an undefined Tensor`` (ChebConv,
  RGATConv): a compiled function has a ``Tensor`` parameter whose default is
  ``None``, which TorchScript stores as an undefined tensor that the
  serializer cannot write. ChebConv reaches it through ``get_laplacian`` ->
  the ``add_self_loops`` overload with ``edge_attr: Tensor`` (it inherits the
  implementation's ``= None``), RGATConv through its unannotated
  ``return_attention_weights=None`` (unannotated means ``Tensor``).

(CONTEXT.md's list also names GATConv and GATv2Conv: scripted directly, every
overload of their ``forward`` is compiled, the SparseTensor ones included, and
the file fails to load with the same Type mismatch; through the typed wrapper
that the table scripts, as PyG's tests do, only the Tensor overload is
compiled and they round-trip.)
"""

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "shim" / "pyg_jit_shim" / "cli" / "conformance.py"
REFERENCE = "2.5.3"

sys.path.insert(0, str(REPO))  # run as a script: tests/ is sys.path[0], not the repo
from tests.helpers import BLOCKED, load_without_pyg, save_all  # noqa: E402


def load_table() -> Any:
    """The conformance module, loaded from its file.

    ``import pyg_jit_shim`` would activate the shim; the reference data must
    come from plain PyG, so the package ``__init__`` is never run here.
    """
    name = "_pyg_jit_shim_conformance"
    spec = importlib.util.spec_from_file_location(name, TABLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # TorchScript looks the wrappers' source up here
    spec.loader.exec_module(module)
    return module


def save_load(conformance: Any, names: Iterable[str]) -> Dict[str, str]:
    """``name -> outcome`` of torch.jit.save here, torch.jit.load elsewhere."""
    with tempfile.TemporaryDirectory() as directory:
        saved, failed = save_all(conformance, names, directory)
        outcomes = {name: "save-failed" for name in failed}
        for name, error in failed.items():
            print(f"torch.jit.save {name}: {error}".splitlines()[0])
        paths = []
        for name, path in saved.items():
            assert path is not None, f"{name} no longer scripts"
            paths.append(path)
        missing, imported, results = load_without_pyg(str(TABLE), paths)
        assert missing == list(BLOCKED) and imported == [], (missing, imported)
        outcomes.update((name, status) for name, status, _, _ in results)
    return dict(sorted(outcomes.items()))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the recorded file, write nothing")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write (default: beside the module)")
    args = parser.parse_args(argv)

    import torch
    import torch_geometric

    conformance = load_table()
    if torch_geometric.__version__ != REFERENCE:
        print(f"refusing to record: installed PyG is {torch_geometric.__version__} "
              f"({torch_geometric.__file__}), the reference is exactly {REFERENCE}",
              file=sys.stderr)
        return 2

    def progress(i: int, total: int, name: str) -> None:
        print(f"\r[{i:>2}/{total}] {name:<24}", end="", file=sys.stderr, flush=True)

    start = time.monotonic()
    results = conformance.run_all(progress=progress)
    print(f"\r{'':<32}\r", end="", file=sys.stderr)
    print(conformance.format_table(results))
    round_trip = save_load(conformance,
                           [r.name for r in results if r.status == "scripted"])
    for name, outcome in round_trip.items():
        if outcome != "ok":
            print(f"torch.jit.save/load {name}: {outcome}")
    print(f"PyG {torch_geometric.__version__}, torch {torch.__version__}, "
          f"{time.monotonic() - start:.1f} s")

    data = {
        "pyg": torch_geometric.__version__,
        "torch": torch.__version__,
        "cases": {r.name: r.status for r in results},
        "jit_save_load": round_trip,
    }
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    path = args.output or conformance.expected_path()
    if args.check:
        old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        changed = []
        for key in ("cases", "jit_save_load"):
            old_cases, new_cases = old.get(key, {}), data[key]
            for name in sorted(set(old_cases) | set(new_cases)):
                if old_cases.get(name) != new_cases.get(name):
                    changed.append(name)
                    print(f"  {key} {name}: recorded {old_cases.get(name)}, "
                          f"now {new_cases.get(name)}")
        print(f"{path}: {'differs' if changed else 'up to date'}")
        return 1 if changed else 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
