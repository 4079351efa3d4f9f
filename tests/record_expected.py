"""Regenerate ``shim/pyg_jit_shim/expected_2_5_3.json`` from PyG 2.5.3.

Runs the conformance table (``pyg_jit_shim.conformance``) on the installed
PyG, which must be exactly 2.5.3, the reference release, prints the table
and writes ``{"pyg": ..., "torch": ..., "cases": {name: status}}`` with
sorted keys next to the module::

    PYTHONPATH=/path/to/pyg-2.5.3:shim python tests/record_expected.py
    PYTHONPATH=/path/to/pyg-2.5.3:shim python tests/record_expected.py --check

``--check`` writes nothing and exits 1 when the recorded file differs.
"""

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

REFERENCE = "2.5.3"
TABLE = Path(__file__).resolve().parent.parent / "shim" / "pyg_jit_shim" / "conformance.py"


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
    print(f"PyG {torch_geometric.__version__}, torch {torch.__version__}, "
          f"{time.monotonic() - start:.1f} s")

    data = {
        "pyg": torch_geometric.__version__,
        "torch": torch.__version__,
        "cases": {r.name: r.status for r in results},
    }
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    path = args.output or conformance.expected_path()
    if args.check:
        old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        old_cases, new_cases = old.get("cases", {}), data["cases"]
        changed = sorted(n for n in set(old_cases) | set(new_cases)
                         if old_cases.get(n) != new_cases.get(n))
        for name in changed:
            print(f"  {name}: recorded {old_cases.get(name)}, now {new_cases.get(name)}")
        print(f"{path}: {'differs' if changed else 'up to date'}")
        return 1 if changed else 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
