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
import statistics
import sys
import textwrap
from typing import Any, Dict, List

from rounds import one_round, spread

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



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--copies", type=int, default=200)
    args = parser.parse_args()
    shim: List[Dict[str, Any]] = []
    alone: List[Dict[str, Any]] = []
    again: List[Dict[str, Any]] = []
    for index in range(args.rounds):
        order = [(shim, "auto"), (alone, "off"), (again, "off")]
        for into, mode in (order if index % 2 == 0 else order[::-1]):
            into.append(one_round(ONE_ROUND, str(args.copies), env={"PYG_JIT_SHIM": mode}))
    print("| per copy of a model with a Sequential | shim / PyG alone | A/A: alone / alone |")
    print("|---|---:|---:|")
    for kind in KINDS:
        ratios = [s[kind] / a[kind] for s, a in zip(shim, alone)]
        noise = [b[kind] / a[kind] for b, a in zip(again, alone)]
        print(f"| `{kind}` | {spread(ratios)} | {spread(noise)} |")
    alone_ms = statistics.median(a["deepcopy"] for a in alone) * 1e3
    print(f"\nPyG alone: {alone_ms:.2f} ms per deepcopy (median of rounds).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
