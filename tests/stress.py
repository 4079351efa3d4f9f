"""Random schedules of everything at once: builds, restores, toggling, forks,
and signals whose handler raises, in one interpreter per seed.

    python -m tests.stress --seeds 20     # seeds 0..19; prints what ran, exits 1 on a failure

Each schedule runs in a fresh interpreter that dumps its stacks and exits if
it hangs (see tests/hangs.py). Three threads each run a random sequence of
operations (a new layer class built, a built-in conv built, a layer restored
by deepcopy or pickle, patch(), unpatch()); the main thread runs one too,
while a timer sends it signals whose handler raises, and forks now and then: the
child checks that everything works (tests/hangs.py's everything_works()).
Afterwards every operation has either worked or, in the main thread, ended in
the handler's exception; patch() gives a consistent, working shim; nothing
was logged but the names of layer classes that PyG built while unpatched.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

from tests.hangs import EVERYTHING_WORKS, LIMIT, PRELUDE
from tests.helpers import environment, last_json, run_script

OPERATIONS_PER_THREAD = 30

# Each thread's new classes have a name of their own: between unpatch() and
# patch(), PyG 2.5.0 alone writes a class name's module to one fixed file,
# which threads building classes of one name clobber (#9025).
THREAD_FACTORIES = "".join(f"""

def fresh_class_{index}():
    class Fresh{index}(MessagePassing):
        def __init__(self):
            super().__init__(aggr="add")

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

    return Fresh{index}
""" for index in range(1, 4))

SCHEDULE = r"""
import random
THREAD_CLASSES = {index: globals()["fresh_class_%d" % index] for index in range(1, 4)}
SEED, OPERATIONS = @SEED@, @OPERATIONS@
layer = Summed()
saved = pickle.dumps(layer)
errors, done, interrupts, children = [], [0], [0], []


def operate(rng, main, fresh):
    choice = rng.choice(["fresh", "fresh", "gcn", "deepcopy", "unpickle", "patch", "unpatch",
                         "fork" if main else "fresh"])
    if choice == "fresh":
        if not usable(fresh()()):
            errors.append("fresh: wrong output")
    elif choice == "gcn":
        GCNConv(4, 4)(x, edge_index)
    elif choice == "deepcopy":
        if not usable(copy.deepcopy(layer)):
            errors.append("deepcopy: wrong output")
    elif choice == "unpickle":
        if not usable(pickle.loads(saved)):
            errors.append("unpickle: wrong output")
    elif choice == "patch":
        pyg_jit_shim.patch()
    elif choice == "unpatch":
        pyg_jit_shim.unpatch()
    elif choice == "fork":
        signal.setitimer(signal.ITIMER_REAL, 0)  # the child gets no timer
        children.append(in_child(everything_works))
        arm(rng)


def work(index):
    rng = random.Random(SEED * 100 + index)
    for _ in range(OPERATIONS):
        try:
            operate(rng, False, THREAD_CLASSES[index])
            done[0] += 1
        except Exception as error:
            errors.append("thread %d: %r" % (index, error))


class Stop(BaseException):
    # A BaseException, as KeyboardInterrupt is. PyG 2.5.0's own
    # Inspector.get_source turns any Exception into an empty source (and
    # caches it): an Exception landing there while another thread has
    # unpatched would break that class with PyG alone too. What is under test
    # here is the shim; tests/affected/test_never_hangs.py raises an Exception
    # at every point of the shim's own code.
    pass


def on_alarm(number, frame):
    interrupts[0] += 1
    raise Stop()


def arm(rng):
    signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.0002, 0.008))


signal.signal(signal.SIGALRM, on_alarm)
threads = [threading.Thread(target=work, args=(index,)) for index in range(1, 4)]
for thread in threads:
    thread.start()
rng = random.Random(SEED * 100)
interrupted = 0
for _ in range(OPERATIONS):
    arm(rng)
    try:
        operate(rng, True, fresh_class)
        done[0] += 1
        signal.setitimer(signal.ITIMER_REAL, 0)
    except Stop:
        interrupted += 1
    # A signal that came between the operation and the disarming.
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
        time.sleep(0)
    except Stop:
        interrupted += 1
signal.setitimer(signal.ITIMER_REAL, 0)
for thread in threads:
    thread.join(@LIMIT@)
stuck = sum(thread.is_alive() for thread in threads)
pyg_jit_shim.patch()
print(json.dumps({
    "errors": errors[:5], "stuck": stuck, "done": done[0], "interrupted": interrupted,
    "children": children, "consistent": consistent(), "verdict": pyg_jit_shim.status().verdict,
    "scripted": scripts(fresh_class()()),
    "logged": [line for line in records if "built before" not in line],
}))
"""


def run_schedule(seed: int, directory: Path, operations: int = OPERATIONS_PER_THREAD
                 ) -> Dict[str, Any]:
    """One schedule; a report with ``problems``, empty where all went well."""
    env = environment(TMPDIR=str(directory), PYG_HOME=str(directory))
    script = PRELUDE + THREAD_FACTORIES + (SCHEDULE.replace("@SEED@", str(seed))
                        .replace("@OPERATIONS@", str(operations)).replace("@LIMIT@", str(LIMIT)))
    report: Dict[str, Any] = last_json(run_script(script, directory, env=env,
                                                  timeout=LIMIT + 60))
    problems: List[str] = []
    if report["errors"] or report["stuck"]:
        problems.append(f"threads: {report['errors']}, {report['stuck']} stuck")
    problems.extend(f"forked child: {child}" for child in report["children"]
                    if child != EVERYTHING_WORKS)
    if (report["verdict"], report["consistent"], report["scripted"]) != ("patched", True, True):
        problems.append("afterwards: {verdict}, consistent {consistent}, "
                        "scripted {scripted}".format(**report))
    if report["logged"]:
        problems.append(f"logged: {report['logged']}")
    report["problems"] = problems
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    parser.add_argument("--first", type=int, default=0, help="first seed")
    arguments = parser.parse_args()
    import tempfile

    failed, totals = 0, {"operations": 0, "interrupted": 0, "forks": 0}
    for seed in range(arguments.first, arguments.first + arguments.seeds):
        with tempfile.TemporaryDirectory() as directory:
            report = run_schedule(seed, Path(directory))
        totals["operations"] += report["done"]
        totals["interrupted"] += report["interrupted"]
        totals["forks"] += len(report["children"])
        failed += bool(report["problems"])
        print(json.dumps({"seed": seed, "problems": report["problems"]}), flush=True)
    print("{} schedules, {} failed: {operations} operations done, {interrupted} "
          "interrupted by a signal, {forks} forks".format(arguments.seeds, failed, **totals))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
