"""The shim never makes a process hang, deadlock or stay unrepaired.

Scenarios run in fresh interpreters that dump every stack and exit after
``hangs.LIMIT`` seconds, so that a regression fails in seconds rather than
hanging CI; forked children are watched the same way (``in_child``). The
moments are chosen, not hoped for: a thread is stopped inside the code in
question (``Pause``), a signal is sent at the k-th point of the shim's code
where CPython runs handlers (``raise_at``), an import is held half done.
Scenarios that need no interpreter of their own share one (a fixture per
module), each reporting under its own name.
"""

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.hangs import (
    EVERYTHING_WORKS,
    LIMIT,
    PRELUDE,
    PRELUDE_WITHOUT_PYG,
    summed_classes,
)
from tests.helpers import environment, last_json, run_script

# On the releases with the most and the fewest patches; 2.5.1's are 2.5.0's
# but two inspector patches (CI time: docs/developing.md).
pytestmark = pytest.mark.only_on("2.5.0", "2.5.2")


def _run(directory: Path, scenario: str, prelude: str = PRELUDE) -> Any:
    # From a file: classes defined in it have readable source, as a service's
    # (PyG 2.5.1 alone needs that to build them).
    env = environment(TMPDIR=str(directory), PYG_HOME=str(directory))
    return last_json(run_script(prelude + scenario, directory, env=env, timeout=LIMIT + 60))


def _never_built(count: int) -> str:
    """Classes Restored0... and their pickles in ``saved``, made in a forked
    child: in this process, unpickling one is the first time its class is built."""
    names = [f"Restored{number}" for number in range(count)]
    return summed_classes(names) + f"""
saved = [bytes.fromhex(data) for data in in_child(
    lambda: [pickle.dumps(cls()).hex() for cls in [{", ".join(names)}]])]
"""


# -- fork ----------------------------------------------------------------------

# A thread is stopped inside PyG's own MessagePassing.__init__, inside the
# shim's generation step, inside the registration of a generated module (under
# the shim's lock), inside the generation run by unpickling; then the main
# thread forks.
IN_FLIGHT = {
    "construction, in PyG's __init__": ("inspect_signature", "torch_geometric", "Fork0"),
    "construction, in the generation step": ("_generate", "pyg_jit_shim", "Fork1"),
    "construction, registering its module": ("_register_locked", "pyg_jit_shim", "Fork2"),
    "restore": ("generate", "pyg_jit_shim", "restore"),
}
# A thread is stopped inside patch() between two patches, inside patch() after
# the last patch but before the status says so, inside unpatch() between two
# undone patches.
CHANGING = {
    "patch(), between two patches": ("patch", "apply", "pyg_jit_shim/patches", 2),
    "patch(), before its status": ("patch", "_set_applied", "pyg_jit_shim", 0),
    "unpatch(), between two patches": ("unpatch", "undo", "pyg_jit_shim/recording", 2),
}

# Each in-flight scenario builds a class never built before in the process.
FORKS = _never_built(1) + summed_classes(["Fork0", "Fork1", "Fork2"]) + """
results = {}
for name, (function, where, action) in json.loads(sys.argv[1]).items():
    pyg_jit_shim.patch()
    act = (lambda: pickle.loads(saved[0])) if action == "restore" else globals()[action]
    pause = Pause(function, where).start(act)
    child = in_child(everything_works)
    results[name] = [child, pause.finish()]
for name, (call, function, where, skip) in json.loads(sys.argv[2]).items():
    pyg_jit_shim.patch()
    if call == "patch":
        pyg_jit_shim.unpatch()
    pause = Pause(function, where, skip=skip).start(getattr(pyg_jit_shim, call))
    child = in_child(lambda: [pyg_jit_shim.status().verdict, consistent(),
                              usable(fresh_class()()), everything_works()])
    results[name] = [child, pause.finish(), consistent(), pyg_jit_shim.status().verdict]
print(json.dumps([results, records]))
"""


@pytest.fixture(scope="module")
def forks(tmp_path_factory: Any) -> Dict[str, Any]:
    scenario = FORKS.replace("sys.argv[1]", repr(json.dumps(IN_FLIGHT))).replace(
        "sys.argv[2]", repr(json.dumps(CHANGING)))
    results, logged = _run(tmp_path_factory.mktemp("forks"), scenario)
    assert logged == []
    return results  # type: ignore[no-any-return]


@pytest.mark.parametrize("moment", list(IN_FLIGHT))
def test_fork_while_another_thread_builds_or_restores_a_layer(forks: Dict[str, Any],
                                                              moment: str) -> None:
    child, other_thread_finished = forks[moment]
    assert child == EVERYTHING_WORKS
    assert other_thread_finished


@pytest.mark.parametrize("moment", list(CHANGING))
def test_fork_while_another_thread_changes_the_patches(forks: Dict[str, Any],
                                                       moment: str) -> None:
    child, changer_finished, parent_consistent, parent_verdict = forks[moment]
    assert "hung" not in child and "error" not in child, child
    verdict, child_consistent, child_usable, works = child
    # Either side of the call, and saying which.
    assert verdict in ("patched", "unpatched")
    assert child_consistent and child_usable
    assert works == EVERYTHING_WORKS
    assert changer_finished and parent_consistent
    assert parent_verdict == ("patched" if CHANGING[moment][0] == "patch" else "unpatched")


# -- signals -------------------------------------------------------------------

OPERATIONS = ["construction", "restore", "sequential", "patch", "unpatch"]
RESTORES = 90  # never-built classes to unpickle: one per attempt at most

SIGNALS = _never_built(RESTORES) + """
restores = iter(saved)
models = iter(range(10**6))


def sequential():
    # A layout never built before (its own input name): the generator renders
    # it and the pickling patch records it.
    from torch_geometric.nn import Sequential

    x = f"x{next(models)}"
    return Sequential(f"{x}, edge_index", [(GCNConv(4, 4), f"{x}, edge_index -> {x}")])


operations = {
    "construction": lambda: fresh_class()(),
    "restore": lambda: pickle.loads(next(restores)),
    "sequential": sequential,
    "patch": pyg_jit_shim.patch,
    "unpatch": pyg_jit_shim.unpatch,
}


def prepare(name):
    # patch() and unpatch() are tried from the state in which they act.
    if name == "patch":
        pyg_jit_shim.unpatch()
    elif name == "unpatch":
        pyg_jit_shim.patch()


# An exception from a handler (Ctrl-C, a service's timeout) at each point.
raising = {}
for name, operation in operations.items():
    prepare(name)
    first = len(records)
    points = shim_points(operation)
    # patch() and unpatch() change PyG's objects: each of their points is
    # tried, as a change left half made shows only at one of them.
    sampled = positions(points)
    tried = range(1, points + 1) if name in ("patch", "unpatch") else sampled
    outcomes, broken = {}, []
    for point in tried:
        prepare(name)
        outcome = raise_at(point, operation)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        checks = [consistent(), in_thread(pyg_jit_shim.unpatch), in_thread(pyg_jit_shim.patch),
                  consistent()]
        verdict = pyg_jit_shim.status().verdict
        # Building, and above all scripting, cost more than the rest together.
        if point in sampled:
            checks.append(usable(fresh_class()()))
        if point in sampled[::8]:
            layer = fresh_class()()
            checks += [scripts(layer), scripts(copy.deepcopy(layer))]
        if verdict != "patched" or not all(checks):
            broken.append([point, outcome, verdict, checks])
    raising[name] = [points, len(tried), outcomes, broken[:5], records[first:][:5]]
logged = len(records)

# A handler that snapshots a layer (deepcopy runs the shim's restore) and
# builds one, run at those points while the main thread is inside the shim.
layer = fresh_class()()
copies = []


def snapshot(number, frame):
    copies.append(usable(copy.deepcopy(layer)) and usable(fresh_class()()))


signal.signal(signal.SIGUSR1, snapshot)
copying = {}
for name, operation in operations.items():
    prepare(name)
    tried = positions(shim_points(operation))
    outcomes = {}
    for point in tried:
        prepare(name)
        outcome = raise_at(point, operation)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    copying[name] = [len(tried), outcomes]
pyg_jit_shim.patch()
print(json.dumps([raising, copying, len(copies), all(copies), consistent(),
                  scripts(fresh_class()()), records[logged:]]))
"""


@pytest.fixture(scope="module")
def signals(tmp_path_factory: Any) -> Any:
    return _run(tmp_path_factory.mktemp("signals"), SIGNALS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_exception_from_a_signal_handler_at_any_point(signals: Any, operation: str) -> None:
    # It reaches the caller as it was raised, leaves nothing behind (toggling
    # from other threads returns, layers build, script and restore), and the
    # shim logs nothing about it.
    points, tried, outcomes, broken, logged = signals[0][operation]
    assert points > 5
    # Every attempt ended in the handler's exception, unless the operation
    # passed fewer points that time. (None of the shim's code runs in a
    # finalizer or a collector's callback, where Python would drop it.)
    assert set(outcomes) <= {"Interrupt", "not reached"}, outcomes
    assert outcomes.get("Interrupt", 0) > tried // 2, outcomes
    assert broken == []
    assert logged == []


def test_a_signal_handler_that_copies_layers_while_the_shim_is_busy(signals: Any) -> None:
    copying, copies, all_usable, consistent, scripted, logged = signals[1:]
    assert all(set(outcomes) <= {"done", "not reached"} for _, outcomes in copying.values())
    # The handler ran, to its end, at every point reached, wherever the main
    # thread was.
    assert copies == sum(outcomes.get("done", 0) for _, outcomes in copying.values())
    assert all_usable and consistent and scripted
    # Layers the handler built while unpatch() had put PyG's objects back are
    # PyG's own, which patch() names; nothing else is logged.
    assert [line for line in logged if "built before" not in line] == []


# -- no waiting ----------------------------------------------------------------

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


# -- the import race -----------------------------------------------------------

RACE = r"""
held, go = threading.Event(), threading.Event()


class Hold:
    # Stops the importing thread when it creates the module HELD_AT: outside
    # the import system's global lock (held while finders run), where the
    # package module does not exist yet (HELD_AT "torch_geometric"), or is
    # executing its __init__ ("torch_geometric.nn").
    def find_spec(self, name, path=None, target=None):
        if name != HELD_AT or held.is_set():
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        spec.loader = Holding(spec.loader)
        return spec


class Holding:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        held.set()
        go.wait(60)
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)


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
            if type(finder).__name__ == "Watcher"]
print(json.dumps([before, status.verdict, consistent(), scripts(fresh_class()()),
                  torch.jit.script(GCNConv(4, 4)) is not None, watching, records]))
"""


# A thread imports torch_geometric and is held in the middle of it: before
# the package module exists, or while its __init__ imports torch_geometric.nn.
@pytest.mark.parametrize("held_at", ["torch_geometric", "torch_geometric.nn"])
def test_import_the_shim_while_another_thread_imports_pyg(tmp_path: Path, held_at: str) -> None:
    before, verdict, consistent, scripted, gcn, watching, logged = _run(
        tmp_path, f"HELD_AT = {held_at!r}\n" + RACE, prelude=PRELUDE_WITHOUT_PYG)
    assert before == "pending"
    assert (verdict, consistent, scripted, gcn) == ("patched", True, True, True)
    assert watching == []  # the import watcher left sys.meta_path
    assert logged == []


# -- jinja2's locks --------------------------------------------------------------

# jinja2 keeps compiled templates and lexers in its LRUCache, which takes a
# plain threading.Lock at every lookup (PyG's own generator goes through it).
# The shim renders without: a layer or a Sequential is built while this thread
# holds that lock (a signal handler that builds one interrupted jinja2 there),
# and in a child forked while another thread holds it.
JINJA = r"""
import jinja2
from jinja2 import lexer, utils
from torch_geometric.nn import Sequential

locks = [lexer._lexer_cache._wlock]
real = (isinstance(jinja2.Environment().cache, utils.LRUCache)
        and all(type(lock) is type(threading.Lock()) for lock in locks))


def build():
    sequential = Sequential("x0, edge_index", [(GCNConv(4, 4), "x0, edge_index -> x0")])
    return [usable(fresh_class()()), scripts(fresh_class()()),
            sequential(x, edge_index).shape == x.shape]


for lock in locks:
    lock.acquire()
held_here = build()
for lock in locks:
    lock.release()

holding, done = threading.Event(), threading.Event()


def hold():
    for lock in locks:
        lock.acquire()
    holding.set()
    done.wait(60)
    for lock in locks:
        lock.release()


threading.Thread(target=hold).start()
holding.wait(60)
child = in_child(build)
done.set()
print(json.dumps([real, held_here, child, records]))
"""


def test_rendering_takes_none_of_jinja2s_locks(tmp_path: Path) -> None:
    real, held_here, child, logged = _run(tmp_path, JINJA)
    assert real  # the locks held are the ones jinja2's caches take
    assert held_here == [True, True, True]
    assert child == [True, True, True]
    assert logged == []
