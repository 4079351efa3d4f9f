"""What copying and pickling a model with a ``Sequential`` inside costs with the
shim, against the same PyG release alone.

Usage (in an environment with PyG 2.5.x and the shim)::

    python benchmarks/copies.py [--rounds 6] [--copies 200]

Each round starts three fresh interpreters in turn, with the shim, with
``PYG_JIT_SHIM=off`` (the reference) and with ``off`` again (the A/A), and in
each times ``--copies`` ``copy.deepcopy`` calls and as many ``pickle``
round trips of one model (a GCNConv and a SAGEConv inside a ``Sequential``).
Prints median [min, max] over rounds of shim / alone and alone / alone; nothing
passes or fails on time. With PyG alone each copy runs ``Sequential()``, its
generator included, again; with the shim a copy is made from the parts.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from typing import Dict, List

ONE_ROUND = textwrap.dedent(r"""
    import copy, json, pickle, sys, time, warnings
    warnings.simplefilter("ignore")
    import pyg_jit_shim
    import torch
    from torch_geometric.nn import GCNConv, SAGEConv, Sequential

    COPIES = int(sys.argv[1])
    model = torch.nn.Module()
    model.body = Sequential("x, edge_index", [
        (GCNConv(8, 8), "x, edge_index -> x"), torch.nn.ReLU(),
        (SAGEConv(8, 8), "x, edge_index -> x")])

    def timed(action):
        action()
        start = time.perf_counter()
        for _ in range(COPIES):
            action()
        return (time.perf_counter() - start) / COPIES

    print(json.dumps({"deepcopy": timed(lambda: copy.deepcopy(model)),
                      "pickle": timed(lambda: pickle.loads(pickle.dumps(model)))}))
""")
KINDS = ("deepcopy", "pickle")


def _round(copies: int, mode: str) -> Dict[str, float]:
    env = dict(os.environ, PYG_JIT_SHIM=mode)
    result = subprocess.run([sys.executable, "-c", ONE_ROUND, str(copies)], env=env,
                            capture_output=True, text=True, check=True)
    answer: Dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _spread(ratios: List[float]) -> str:
    return f"{statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--copies", type=int, default=200)
    args = parser.parse_args()
    shim: List[Dict[str, float]] = []
    alone: List[Dict[str, float]] = []
    again: List[Dict[str, float]] = []
    for index in range(args.rounds):
        order = [(shim, "auto"), (alone, "off"), (again, "off")]
        for into, mode in (order if index % 2 == 0 else order[::-1]):
            into.append(_round(args.copies, mode))
    print("| per copy of a model with a Sequential | shim / PyG alone | A/A: alone / alone |")
    print("|---|---:|---:|")
    for kind in KINDS:
        ratios = [s[kind] / a[kind] for s, a in zip(shim, alone)]
        noise = [b[kind] / a[kind] for b, a in zip(again, alone)]
        print(f"| `{kind}` | {_spread(ratios)} | {_spread(noise)} |")
    alone_ms = statistics.median(a["deepcopy"] for a in alone) * 1e3
    print(f"\nPyG alone: {alone_ms:.2f} ms per deepcopy (median of rounds).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
