"""Per-call time of the archives ``pyg_jit_shim.save`` writes, against the
scripted module they were written from.

Usage (in an environment with torch, PyG and the shim)::

    python benchmarks/archives.py [--rounds 6] [--calls 200]

For each layer, in one fresh interpreter per round: the scripted module (the
reference: what ``torch.jit.save``'s own archive would run where it loads),
the module loaded back from ``pyg_jit_shim.save``'s archive, and the
reference once more as its own A/A, timed in turn (ABBA) over the same
inputs. GCNConv, SGConv and TAGConv are repaired (their ``torch.jit.save``
archive does not load); for SAGEConv ``torch.jit.save``'s archive loads and is
what ``save`` writes, so its row is a second A/A. Prints, per layer, the
median [min, max] over rounds of archive / reference and of reference /
reference; nothing passes or fails on time.
"""

import argparse
import sys
import textwrap

from rounds import one_round, spread

LAYERS = ["GCNConv", "SGConv", "TAGConv", "SAGEConv"]

ONE_ROUND = textwrap.dedent(r"""
    import io, json, sys, time, warnings
    warnings.simplefilter("ignore")
    import pyg_jit_shim  # noqa: F401  (first, as in a service)
    import torch
    import torch_geometric.nn as nn
    from pyg_jit_shim.saving import save  # pyg_jit_shim.save, which also says what it did

    NAME, CALLS = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    torch.set_num_threads(1)
    nodes, edges = 1000, 10000
    x = torch.randn(nodes, 16)
    edge_index = torch.randint(0, nodes, (2, edges))
    reference = torch.jit.script(getattr(nn, NAME)(16, 16).eval())
    buffer = io.BytesIO()
    outcome = save(reference, buffer)
    buffer.seek(0)
    archive = torch.jit.load(buffer)
    with torch.no_grad():
        assert float((archive(x, edge_index) - reference(x, edge_index)).abs().max()) <= 1e-6

    def per_call(module):
        with torch.no_grad():
            for _ in range(5):
                module(x, edge_index)
            start = time.perf_counter()
            for _ in range(CALLS):
                module(x, edge_index)
            return (time.perf_counter() - start) / CALLS

    times = {"reference": [], "archive": [], "again": []}
    for order in (("reference", "archive", "again"), ("again", "archive", "reference")):
        for key in order:
            times[key].append(per_call(archive if key == "archive" else reference))
    print(json.dumps({"repaired": outcome.repaired,
                      **{key: min(values) for key, values in times.items()}}))
""")



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print("| layer | repaired | archive / scripted | A/A: scripted / scripted |")
    print("|---|:-:|---:|---:|")
    for name in LAYERS:
        rounds = [one_round(ONE_ROUND, name, str(args.calls)) for _ in range(args.rounds)]
        repaired = {r["repaired"] for r in rounds}
        print(f"| {name} | {'yes' if True in repaired else 'no'} "
              f"| {spread([r['archive'] / r['reference'] for r in rounds])} "
              f"| {spread([r['again'] / r['reference'] for r in rounds])} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
