"""The shim never makes a process hang, deadlock or stay unrepaired.

Each scenario runs in a fresh interpreter that dumps every stack and exits
after ``hangs.LIMIT`` seconds, so that a regression fails in seconds rather
than hanging CI. Forked children are watched the same way (``in_child``).
The moments are chosen, not hoped for: a thread is stopped inside the code in
question (``Pause``), a signal is sent at the k-th line the shim executes
(``raise_at``), an import is held half done.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.hangs import (
    EVERYTHING_WORKS,
    LIMIT,
    PRELUDE,
    PRELUDE_WITHOUT_PYG,
    summed_classes,
)
from tests.helpers import environment, last_json, run_script


def _run(tmp_path: Path, scenario: str, prelude: str = PRELUDE, **env: str) -> Any:
    # From a file: classes defined in it have readable source, as a service's
    # (PyG 2.5.1 alone needs that to build them).
    result = run_script(prelude + scenario, tmp_path,
                        env=environment(TMPDIR=str(tmp_path), PYG_HOME=str(tmp_path), **env),
                        timeout=LIMIT + 60)
    return last_json(result)


# Inside PyG's own MessagePassing.__init__, inside the shim's generation step,
# and inside the registration of a generated module (under the shim's lock).
CONSTRUCTION_POINTS = [("inspect_signature", "torch_geometric"),
                       ("_generate", "pyg_jit_shim"),
                       ("_register_locked", "pyg_jit_shim")]


@pytest.mark.parametrize(("function", "where"), CONSTRUCTION_POINTS)
def test_fork_while_another_thread_builds_a_layer(tmp_path: Path, function: str,
                                                   where: str) -> None:
    found = _run(tmp_path, f"""
pause = Pause({function!r}, {where!r}).start(lambda: fresh_class()())
child = in_child(everything_works)
print(json.dumps([child, pause.finish(), records]))
""")
    child, builder_finished, logged = found
    assert child == EVERYTHING_WORKS
    assert builder_finished
    assert logged == []


def _never_built(count: int) -> str:
    """Classes Restored0... and their pickles in ``saved``, made in a forked
    child: in this process, unpickling one is the first time its class is built."""
    if not count:
        return "saved = []\n"
    names = [f"Restored{number}" for number in range(count)]
    return summed_classes(names) + f"""
saved = [bytes.fromhex(data) for data in in_child(
    lambda: [pickle.dumps(cls()).hex() for cls in [{", ".join(names)}]])]
"""


def test_fork_while_another_thread_restores_a_layer(tmp_path: Path) -> None:
    found = _run(tmp_path, _never_built(1) + """
pause = Pause("generate", "pyg_jit_shim").start(lambda: pickle.loads(saved[0]))
child = in_child(everything_works)
print(json.dumps([child, pause.finish()]))
""")
    child, restorer_finished = found
    assert child == EVERYTHING_WORKS
    assert restorer_finished


# Stops inside patch(): between two patches, after the last patch but before
# the status says so; inside unpatch(): between two undone patches.
CHANGE_POINTS = [("patch", "apply", "pyg_jit_shim/patches", 2),
                 ("patch", "_set_applied", "pyg_jit_shim", 0),
                 ("unpatch", "undo", "pyg_jit_shim/patching", 2)]


@pytest.mark.parametrize(("call", "function", "where", "skip"), CHANGE_POINTS)
def test_fork_while_another_thread_changes_the_patches(tmp_path: Path, call: str,
                                                       function: str, where: str,
                                                       skip: int) -> None:
    found = _run(tmp_path, f"""
if {call!r} == "patch":
    pyg_jit_shim.unpatch()
pause = Pause({function!r}, {where!r}, skip={skip}).start(pyg_jit_shim.{call})


def child_check():
    # First what the child got: a consistent state, either side of the call.
    return [pyg_jit_shim.status().verdict, consistent(), usable(fresh_class()()),
            everything_works()]


child = in_child(child_check)
finished = pause.finish()
print(json.dumps([child, finished, consistent(), pyg_jit_shim.status().verdict]))
""")
    child, changer_finished, parent_consistent, parent_verdict = found
    assert "hung" not in child and "error" not in child, child
    verdict, child_consistent, child_usable, works = child
    assert verdict in ("patched", "unpatched")
    assert child_consistent and child_usable
    assert works == EVERYTHING_WORKS
    assert changer_finished and parent_consistent
    assert parent_verdict == ("patched" if call == "patch" else "unpatched")


RESTORES = 160  # never-built classes to unpickle, one per attempt


def test_a_signal_handler_that_copies_layers_while_the_shim_is_busy(tmp_path: Path) -> None:
    # A handler that snapshots a layer (deepcopy runs the shim's restore) and
    # builds one, run at lines the shim executes during a construction, a
    # restore, patch() and unpatch() of the main thread.
    found = _run(tmp_path, _never_built(RESTORES) + """
layer = fresh_class()()
copies = []


def snapshot(number, frame):
    copies.append(usable(copy.deepcopy(layer)) and usable(fresh_class()()))


signal.signal(signal.SIGUSR1, snapshot)
restores = iter(saved)
operations = {
    "construction": lambda: fresh_class()(),
    "restore": lambda: pickle.loads(next(restores)),
    "patch": pyg_jit_shim.patch,
    "unpatch": pyg_jit_shim.unpatch,
}
counts = {}
for name, operation in operations.items():
    if name == "patch":
        pyg_jit_shim.unpatch()
    lines = shim_points(operation)
    tried = positions(lines)
    for line in tried:
        if name == "patch":
            pyg_jit_shim.unpatch()
        elif name == "unpatch":
            pyg_jit_shim.patch()
        outcome = raise_at(line, operation)
        assert outcome == "done", (name, line, outcome)
    counts[name] = [lines, len(tried)]
pyg_jit_shim.patch()
print(json.dumps([counts, len(copies), all(copies), consistent(), scripts(fresh_class()()),
                  records]))
""")
    counts, copies, all_usable, consistent, scripted, logged = found
    assert all(lines > 5 for lines, _ in counts.values()), counts
    # The handler ran once per attempt, wherever the main thread was.
    assert copies == sum(tried for _, tried in counts.values())
    assert all_usable and consistent and scripted
    # Layers the handler built while unpatch() had put PyG's objects back are
    # PyG's own, which patch() names; nothing else is logged.
    assert [line for line in logged if "built before" not in line] == []


OPERATIONS = ["construction", "restore", "patch", "unpatch"]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_exception_from_a_signal_handler_at_any_line(tmp_path: Path, operation: str) -> None:
    # Ctrl-C or a service's timeout: the exception reaches the caller as it
    # was raised, leaves nothing behind (toggling from other threads returns,
    # layers build, script and restore), and the shim logs nothing about it.
    found = _run(tmp_path, _never_built(RESTORES if operation == "restore" else 0) + f"""
restores = iter(saved)
operations = {{
    "construction": lambda: fresh_class()(),
    "restore": lambda: pickle.loads(next(restores)),
    "patch": pyg_jit_shim.patch,
    "unpatch": pyg_jit_shim.unpatch,
}}
operation = operations[{operation!r}]


def prepare():
    # patch() and unpatch() are tried from the state in which they act.
    if {operation!r} == "patch":
        pyg_jit_shim.unpatch()
    elif {operation!r} == "unpatch":
        pyg_jit_shim.patch()


prepare()
lines = shim_points(operation)
tried = positions(lines)
outcomes, broken = {{}}, []
for attempt, line in enumerate(tried):
    prepare()
    outcome = raise_at(line, operation)
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    checks = [consistent(), in_thread(pyg_jit_shim.unpatch), in_thread(pyg_jit_shim.patch),
              consistent(), usable(fresh_class()())]
    verdict = pyg_jit_shim.status().verdict
    if attempt % 8 == 0:  # scripting costs more than the rest together
        layer = fresh_class()()
        checks += [scripts(layer), scripts(copy.deepcopy(layer))]
    if verdict != "patched" or not all(checks):
        broken.append([line, outcome, verdict, checks])
print(json.dumps([lines, len(tried), outcomes, broken[:5], records]))
""")
    lines, tried, outcomes, broken, logged = found
    assert lines > 5
    # Every attempt ended in the handler's exception or, where the signal
    # came after the last point CPython runs handlers at, in success.
    assert set(outcomes) <= {"Interrupt", "done"}, outcomes
    assert outcomes.get("Interrupt", 0) > tried // 2, outcomes
    assert broken == []
    assert logged == []


def test_patch_and_unpatch_return_while_eight_threads_build_layers(tmp_path: Path) -> None:
    found = _run(tmp_path, """
stop, errors, built = threading.Event(), [], [0]


def build():
    while not stop.is_set():
        try:
            if not usable(fresh_class()()):
                errors.append("wrong output")
            built[0] += 1
        except Exception as error:
            errors.append(repr(error))


builders = [threading.Thread(target=build) for _ in range(8)]
for thread in builders:
    thread.start()
while built[0] < 16:
    time.sleep(0.01)
before = built[0]
for _ in range(20):
    pyg_jit_shim.unpatch()
    pyg_jit_shim.patch()
during = built[0] - before
stop.set()
for thread in builders:
    thread.join(60)
print(json.dumps([errors[:5], during > 0, any(t.is_alive() for t in builders),
                  pyg_jit_shim.status().verdict, consistent(), scripts(fresh_class()())]))
""")
    errors, built_during, stuck, verdict, consistent, scripted = found
    # Had a call waited for the builders, it would never have returned (they
    # stop only after it): the interpreter would have been stopped.
    assert errors == []
    assert built_during and not stuck
    assert (verdict, consistent, scripted) == ("patched", True, True)


# A thread imports torch_geometric and is held in the middle of it: before
# the package module exists, or while its __init__ imports torch_geometric.nn.
@pytest.mark.parametrize("held_at", ["torch_geometric", "torch_geometric.nn"])
def test_import_the_shim_while_another_thread_imports_pyg(tmp_path: Path, held_at: str) -> None:
    scenario = f"""
HELD_AT = {held_at!r}
""" + r"""
held, go = threading.Event(), threading.Event()


class Hold:
    # Stops the importing thread the first time it looks for HELD_AT.
    def find_spec(self, name, path=None, target=None):
        if name == HELD_AT and not held.is_set():
            held.set()
            go.wait(60)
        return None


sys.meta_path.insert(0, Hold())
importer = threading.Thread(target=lambda: __import__("torch_geometric"))
importer.start()
held.wait(60)
import pyg_jit_shim
before = pyg_jit_shim.status().verdict
go.set()
importer.join(60)
from torch_geometric.nn import GCNConv
status = pyg_jit_shim.status()
watching = [type(finder).__name__ for finder in sys.meta_path
            if type(finder).__module__.startswith("pyg_jit_shim")]
print(json.dumps([before, status.verdict, consistent(), scripts(fresh_class()()),
                  torch.jit.script(GCNConv(4, 4)) is not None, watching, records]))
"""
    before, verdict, consistent, scripted, gcn, watching, logged = _run(
        tmp_path, scenario, prelude=PRELUDE_WITHOUT_PYG)
    assert before == "pending"
    assert (verdict, consistent, scripted, gcn) == ("patched", True, True, True)
    assert watching == []  # nothing left on sys.meta_path
    assert logged == []

