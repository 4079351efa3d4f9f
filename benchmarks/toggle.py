"""How long ``patch()`` and ``unpatch()`` take while threads build layers.

Usage (in an environment with PyG 2.5.x and the shim)::

    python benchmarks/toggle.py [--threads 8] [--calls 100] [--rounds 3]

Each round, in a fresh interpreter: ``--calls`` pairs of ``unpatch()`` and
``patch()`` with no other thread (the reference), then the same with
``--threads`` threads building a new layer class each in a loop, side by side
in one process. Prints the worst call, the median and the 99th percentile of
each, in milliseconds, and the ratio of the worst calls; nothing passes or
fails on time. The shim promises that these calls never wait for a
construction (docs/reliability.md); before that, one ``unpatch()`` waited
more than 20 s behind two building threads.
"""

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from typing import Dict, List

ONE_ROUND = textwrap.dedent(r"""
    import json, sys, threading, time, warnings
    warnings.simplefilter("ignore")
    import pyg_jit_shim
    from torch import Tensor
    from torch_geometric.nn import MessagePassing

    THREADS, CALLS = int(sys.argv[1]), int(sys.argv[2])


    def fresh():
        class Fresh(MessagePassing):
            def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
                return self.propagate(edge_index, x=x)

        return Fresh()


    def toggle():
        durations = []
        for _ in range(CALLS):
            for call in (pyg_jit_shim.unpatch, pyg_jit_shim.patch):
                start = time.perf_counter()
                call()
                durations.append(time.perf_counter() - start)
        return durations


    alone = toggle()
    stop, built = threading.Event(), [0]


    def build():
        while not stop.is_set():
            fresh()
            built[0] += 1


    builders = [threading.Thread(target=build) for _ in range(THREADS)]
    for thread in builders:
        thread.start()
    while built[0] < THREADS:
        time.sleep(0.001)
    before = built[0]
    busy = toggle()
    during = built[0] - before
    stop.set()
    for thread in builders:
        thread.join()
    print(json.dumps({"alone": alone, "busy": busy, "built_during": during,
                      "verdict": pyg_jit_shim.status().verdict}))
""")


def _summary(durations: List[float]) -> Dict[str, float]:
    ordered = sorted(durations)
    return {"worst_ms": ordered[-1] * 1000, "median_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    rows = []
    for number in range(arguments.rounds):
        child = subprocess.run(
            [sys.executable, "-c", ONE_ROUND, str(arguments.threads), str(arguments.calls)],
            capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        alone, busy = _summary(result["alone"]), _summary(result["busy"])
        rows.append((number, alone, busy, result["built_during"], result["verdict"]))
    print(f"patch()/unpatch(), {arguments.calls} pairs a round; alone, then while "
          f"{arguments.threads} threads build layers")
    print("| round | alone: worst / median / p99 ms | busy: worst / median / p99 ms "
          "| worst busy / worst alone | layers built meanwhile | verdict |")
    print("|---|---|---|---|---|---|")
    for number, alone, busy, during, verdict in rows:
        print("| {} | {worst_ms:.1f} / {median_ms:.2f} / {p99_ms:.1f} ".format(number, **alone)
              + "| {worst_ms:.1f} / {median_ms:.2f} / {p99_ms:.1f} ".format(**busy)
              + f"| {busy['worst_ms'] / alone['worst_ms']:.1f} | {during} | {verdict} |")
    worst = max(busy["worst_ms"] for _, _, busy, _, _ in rows)
    print(f"worst call while the threads built: {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
