"""Concurrency: processes and threads building layers at once; thousands of Sequential models.

Three processes start building together, each with eight threads that wait on a
barrier and then build instances of the same and of different layer classes,
built-in ones never built before in that process, brand-new user classes
(tests/layers/race.py, loaded under a new module name every round) and
Sequential models, in several rounds. Afterwards every layer scripts and
matches eager (scripting happens after the threads: torch.jit.script is not
thread-safe, on 2.5.3 either), the shim logged nothing, nothing was written to
disk, and sys.modules holds exactly one generated module per generated method
and per Sequential source: the losers of a race leave nothing behind.

Sequential models with the same generated source share one module, so 5,000
of them cost the models themselves and nothing more; models of different
sources never share one, not even when their random module names collide
(#9371).
"""

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import torch

from tests.helpers import REPO, TIMEOUT, environment, graph, last_json, run_python

# On the releases with the most and the fewest patches (CI time: docs/developing.md).
pytestmark = pytest.mark.only_on("2.5.0", "2.5.2")

PROCESSES = 3
THREADS = 8
ROUNDS = 2
JOBS = 5  # layers each thread builds per round

# One process of the race. argv[1]: JSON {"rounds", "threads", "processes",
# "process" (its number), "sync" (a directory to meet the others in), "empty"
# (directories that must stay empty: TMPDIR and PYG_HOME)}.
RACE = r"""
import importlib.util, json, logging, os, re, sys, threading, time, warnings
import pyg_jit_shim  # first, as a service does
import torch
from torch_geometric.nn import MessagePassing, Sequential
from torch_geometric.nn import conv as pyg_conv
from tests.helpers import graph
from tests.layers import race
from tests.layers.typed_call import TypedCall

config = json.loads(sys.argv[1])
PREFIX = "<pyg_jit_shim>/"

records = []


class Collect(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())


logger = logging.getLogger("pyg_jit_shim")
logger.addHandler(Collect())
logger.setLevel(logging.INFO)

# Built-in convs not built before in this process, three per round (up to 3 rounds).
BUILT_IN = [
    {"GraphConv": lambda: pyg_conv.GraphConv(8, 8),
     "LEConv": lambda: pyg_conv.LEConv(8, 8),
     "MFConv": lambda: pyg_conv.MFConv(8, 8)},
    {"GATv2Conv": lambda: TypedCall(pyg_conv.GATv2Conv(8, 8, heads=2)),  # edge_updater too
     "ClusterGCNConv": lambda: pyg_conv.ClusterGCNConv(8, 8),
     "GENConv": lambda: pyg_conv.GENConv(8, 8)},
    {"TAGConv": lambda: pyg_conv.TAGConv(8, 8, K=2),
     "SGConv": lambda: pyg_conv.SGConv(8, 8, K=2),
     "ResGatedGraphConv": lambda: pyg_conv.ResGatedGraphConv(8, 8)},
]


def load_round(number):
    # race.py anew, under a new name: classes whose methods were never generated
    name = "tests.layers.race_round_%d" % number
    spec = importlib.util.spec_from_file_location(name, race.__file__)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def sequential_architectures(number, layers):
    # Two sources of their own per round: variable names carry the round.
    h = "h%d" % number
    return [
        lambda: Sequential("x, edge_index", [
            (layers.RaceSum(), "x, edge_index -> " + h),
            (torch.nn.Linear(8, 8), h + " -> x"),
        ]),
        lambda: Sequential("x, edge_index", [
            (layers.RaceWeighted(), "x, edge_index -> " + h),
            torch.nn.ReLU(),
            (layers.RaceAttention(), h + ", edge_index -> x"),
        ]),
    ]


def wait_for_the_other_processes():
    open(os.path.join(config["sync"], str(os.getpid())), "w").close()
    deadline = time.monotonic() + 300
    while len(os.listdir(config["sync"])) < config["processes"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the other processes did not start")
        time.sleep(0.005)


built, errors, sequentials = [], [], {}


def worker(number, thread, layers, barrier):
    built_in = list(BUILT_IN[number].items())
    name, make = built_in[thread % len(built_in)]
    architecture = thread % 2
    other = [
        ("user " + layers.CLASSES[1 + thread % 3].__name__, layers.CLASSES[1 + thread % 3]),
        ("built-in " + name, make),
        ("Sequential %d" % architecture, sequential_architectures(number, layers)[architecture]),
        ("user " + layers.CLASSES[(thread + 2) % 4].__name__, layers.CLASSES[(thread + 2) % 4]),
    ]
    shift = thread % len(other)
    # Every thread starts with the same class; then each in its own order.
    jobs = [("user RaceSum", layers.RaceSum)] + other[shift:] + other[:shift]
    try:
        barrier.wait(timeout=120)
        for job, (label, make) in enumerate(jobs):
            layer = make()
            built.append(("round %d thread %d #%d %s" % (number, thread, job, label), layer))
            if label.startswith("Sequential"):
                sequentials.setdefault("%s round %d" % (label, number), []).append(layer)
    except Exception as error:
        errors.append("thread %d: %s: %s" % (thread, type(error).__name__, error))


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    wait_for_the_other_processes()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible
    for number in range(config["rounds"]):
        layers = load_round(number)
        barrier = threading.Barrier(config["threads"])
        threads = [threading.Thread(target=worker, args=(number, thread, layers, barrier))
                   for thread in range(config["threads"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    sys.setswitchinterval(0.005)
warned = ["%s: %s" % (w.category.__name__, w.message) for w in caught]

# Scripting, in the main thread only. The processes share the work: each
# scripts every instance whose place in the sorted labels falls to it, and the
# first instance of every kind; any other instance runs its own weights
# through the scripted module of its kind.
warnings.simplefilter("ignore")
x, edge_index = graph()
failed, scripted_labels, by_kind, own_methods = {}, [], {}, []
for index, (label, layer) in enumerate(sorted(built, key=lambda item: item[0])):
    kind = re.sub(r"thread \d+ #\d+ ", "", label)
    layer.eval()
    for module in layer.modules():
        if {"propagate", "edge_updater"} & set(vars(module)):
            own_methods.append(label)
    try:
        with torch.no_grad():
            expected = layer(x, edge_index)
            if index % config["processes"] == config["process"] or kind not in by_kind:
                scripted = torch.jit.script(layer)
                by_kind.setdefault(kind, scripted)
                scripted_labels.append(label)
            else:
                scripted = by_kind[kind]
                scripted.load_state_dict(layer.state_dict())
            actual = scripted(x, edge_index)
        diff = float((expected - actual).abs().max())
        if not diff <= 1e-6:
            failed[label] = "max abs diff %g" % diff
    except Exception as error:
        failed[label] = "%s: %s" % (type(error).__name__, str(error).strip()[:300])

generated = {name for name, module in list(sys.modules.items())
             if str(getattr(module, "__file__", None) or "").startswith(PREFIX)}


def subclasses(base):
    found, pending = set(), [base]
    while pending:
        for cls in pending.pop().__subclasses__():
            if cls not in found:
                found.add(cls)
                pending.append(cls)
    return found


explained, problems = set(), []
built_classes = sorted((cls for cls in subclasses(MessagePassing)
                        if "_orig_propagate" in vars(cls)), key=lambda c: c.__module__ + c.__name__)
for cls in built_classes:
    prefix = "%s_%s" % (cls.__module__, cls.__name__)
    kinds = ["propagate"]
    if cls.edge_update is not MessagePassing.edge_update:
        kinds.append("edge_updater")
    for kind in kinds:
        method = vars(cls).get(kind)
        owner = getattr(method, "__module__", None)
        pattern = re.escape(prefix) + r"(\.v\d+)?_" + kind
        candidates = sorted(name for name in generated if re.fullmatch(pattern, name))
        if owner not in generated:
            problems.append("%s.%s is not generated: %r" % (prefix, kind, owner))
        elif vars(sys.modules[owner]).get(kind) is not method:
            problems.append("%s.%s is not %s.%s" % (prefix, kind, owner, kind))
        if candidates != [owner]:
            problems.append("%s.%s: modules %r" % (prefix, kind, candidates))
        explained.add(owner)

classes_per_architecture = {key: {type(model) for model in models}
                            for key, models in sequentials.items()}
sequential_modules = {cls.__module__ for classes in classes_per_architecture.values()
                      for cls in classes}
explained |= sequential_modules
stale = sorted(name for name in list(sys.modules) if name not in generated and (
    name.endswith(("_propagate", "_edge_updater"))
    or name.startswith("torch_geometric.nn.sequential_")))

written = []
for directory in config["empty"]:
    for root, _, files in os.walk(directory):
        written.extend(os.path.join(root, name) for name in files)

print(json.dumps({
    "verdict": pyg_jit_shim.status().verdict,
    "errors": errors,
    "records": records,
    "warnings": warned,
    "layers": sorted(label for label, _ in built),
    "failed": failed,
    "scripted": scripted_labels,
    "own_methods": own_methods,
    "classes": ["%s.%s" % (cls.__module__, cls.__name__) for cls in built_classes],
    "problems": problems,
    "unexplained": sorted(generated - explained),
    "stale": stale,
    "architectures": {key: len(classes) for key, classes in classes_per_architecture.items()},
    "sequential_modules": len(sequential_modules),
    "written": written,
}))
"""

# 5,000 models and their cost, in a fresh process. argv[1]: JSON
# {"shared": models from 5 architectures, "distinct": models of their own source each}.
SEQUENTIAL = r"""
import gc, json, os, resource, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
import pyg_jit_shim  # first, as a service does
import torch
import torch_geometric.nn.sequential as sequential
from jinja2 import Environment, FileSystemLoader
from torch_geometric.nn import Sequential

config = json.loads(sys.argv[1])
NAME = "torch_geometric.nn.sequential_"


def rss_kib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


# PyG's own template, rendered here: the source each architecture must get.
template = Environment(loader=FileSystemLoader(os.path.dirname(sequential.__file__))
                       ).get_template("sequential.jinja")
torch.manual_seed(0)
# Shared by all models: a model costs its own object, and whatever PyG keeps.
LINEAR = [torch.nn.Linear(4, 4) for _ in range(5)]
x = torch.randn(3, 4)


def architecture(number, distinct):
    if distinct:  # a variable name of its own: a source of its own
        names = [("x", "h%d" % number), ("h%d" % number, "x")]
    else:  # depth 1 to 5
        names = [("x", "x")] * (number + 1)
    children = [(LINEAR[i], "%s -> %s" % pair) for i, pair in enumerate(names)]
    rendered = template.render(input_types=["x"], return_type="Tensor", children=[
        sequential.Child("module_%d" % i, LINEAR[i], [p], [r])
        for i, (p, r) in enumerate(names)])
    out = x
    for i in range(len(names)):
        out = LINEAR[i](out)
    return children, rendered, out.detach()


def files():
    return sorted(name for name in os.listdir(tempfile.gettempdir()) if name.startswith(NAME))


def source_of(model):
    module = sys.modules[type(model).__module__]
    return module.__loader__.get_source(module.__name__)


def phase(count, kinds, distinct):
    architectures = [architecture(a, distinct) for a in range(kinds)]
    modules_before = {name for name in sys.modules if name.startswith(NAME)}
    files_before = files()
    gc.collect()
    before = rss_kib()
    start = time.perf_counter()
    models = [Sequential("x", architectures[i % kinds][0]) for i in range(count)]
    seconds = time.perf_counter() - start
    gc.collect()
    alive = rss_kib()
    wrong = []  # models whose class is not the one generated from their own source
    with torch.no_grad():
        for i, model in enumerate(models):
            children, rendered, out = architectures[i % kinds]
            if not (len(model) == len(children)
                    and model._module_names == ["module_%d" % j for j in range(len(children))]
                    and source_of(model) == rendered
                    and torch.equal(model(x), out)):
                wrong.append(i)
    classes = [{type(model) for model in models[a::kinds]} for a in range(kinds)]
    modules = {cls.__module__ for group in classes for cls in group}
    new_modules = {name for name in sys.modules if name.startswith(NAME)} - modules_before
    del models, model
    gc.collect()
    released = rss_kib()
    return {
        "models": count, "architectures": kinds, "seconds": round(seconds, 2),
        "wrong": len(wrong), "first_wrong": wrong[:5],
        "classes_per_architecture": sorted({len(group) for group in classes}),
        "classes": len(set().union(*classes)), "modules": len(modules),
        "new_modules": len(new_modules),
        "files": len(set(files()) - set(files_before)),
        "rss_before_kib": before, "growth_alive_kib": alive - before,
        "growth_released_kib": released - before,
    }


# Jinja, PyG and the shim warmed up by an architecture that is used nowhere else.
Sequential("y", [(LINEAR[0], "y -> y")])
report = {"verdict": pyg_jit_shim.status().verdict}
if config["shared"]:
    report["shared"] = phase(config["shared"], 5, False)
if config["distinct"]:
    report["distinct"] = phase(config["distinct"], config["distinct"], True)
report["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(report))
"""


def run_sequential(shared: int, distinct: int, env: Optional[Dict[str, str]] = None
                   ) -> Dict[str, Any]:
    argument = json.dumps({"shared": shared, "distinct": distinct})
    report: Dict[str, Any] = last_json(run_python(SEQUENTIAL, env=env, args=[argument]))
    return report


def test_processes_and_threads_build_at_once(tmp_path: Path) -> None:
    sync = tmp_path / "sync"
    sync.mkdir()
    processes: List[subprocess.Popen] = []
    for number in range(PROCESSES):
        temp, home = tmp_path / f"tmp{number}", tmp_path / f"pyg{number}"
        temp.mkdir()
        home.mkdir()
        config = {"rounds": ROUNDS, "threads": THREADS, "processes": PROCESSES,
                  "process": number,
                  "sync": str(sync), "empty": [str(temp), str(home)]}
        env = environment(TMPDIR=str(temp), PYG_HOME=str(home),
                          TORCHINDUCTOR_CACHE_DIR=str(tmp_path / f"inductor{number}"))
        processes.append(subprocess.Popen(
            [sys.executable, "-c", RACE, json.dumps(config)], env=env, cwd=str(REPO),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=TIMEOUT))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    for process, (stdout, stderr) in zip(processes, outputs):
        if process.returncode != 0:
            raise AssertionError(f"a racing process failed ({process.returncode}):\n"
                                 f"{stdout[-3000:]}\n{stderr[-6000:]}")
    reports = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    labels = reports[0]["layers"]
    assert len(labels) == ROUNDS * THREADS * JOBS
    # Every layer was scripted in some process (and checked against the
    # scripted module of its kind in the others).
    assert sorted({label for report in reports for label in report["scripted"]}) == labels
    for report in reports:
        assert report["verdict"] == "patched"
        assert report["errors"] == []
        assert report["layers"] == labels
        assert report["failed"] == {}
        assert report["own_methods"] == []
        assert report["records"] == []
        assert report["warnings"] == []
        # 4 user classes and 3 built-in convs per round: what the threads built.
        assert len(report["classes"]) == ROUNDS * 7, report["classes"]
        assert report["problems"] == []
        assert report["unexplained"] == []
        assert report["stale"] == []
        assert report["architectures"] == {
            f"Sequential {a} round {r}": 1 for a in range(2) for r in range(ROUNDS)}
        assert report["sequential_modules"] == 2 * ROUNDS
        assert report["written"] == []


def test_5000_sequential_models_share_one_module_per_source(tmp_path: Path) -> None:
    # A temp dir of its own: files written there are this process's.
    report = run_sequential(shared=5000, distinct=300, env=environment(TMPDIR=str(tmp_path)))
    assert report["verdict"] == "patched"
    shared, distinct = report["shared"], report["distinct"]
    # Every model has the class generated from its own source ...
    assert shared["wrong"] == 0
    assert distinct["wrong"] == 0
    # ... one per architecture, never one for two.
    assert shared["classes_per_architecture"] == [1]
    assert shared["classes"] == shared["modules"] == shared["new_modules"] == 5
    assert distinct["classes_per_architecture"] == [1]
    assert distinct["classes"] == distinct["modules"] == distinct["new_modules"] == 300
    assert shared["files"] == distinct["files"] == 0
    # Bounded: measured about 2.8 KiB per live model (the model object itself)
    # and about 0.25 KiB per model once they are gone; upstream 2.5.3 keeps a
    # module and a file per model: about 18.5 KiB per model, also once released.
    assert shared["growth_alive_kib"] < 10 * 5000, shared
    assert shared["growth_released_kib"] < 2 * 5000, shared


def test_colliding_module_names_get_modules_of_their_own() -> None:
    from torch_geometric.nn import Sequential

    seed = 9371
    random.seed(seed)
    uid = f"{random.randrange(16**6):06x}"
    state = random.getstate()
    lin = torch.nn.Linear(8, 8)
    try:
        # Input names used nowhere else: both sources are new to the process.
        random.seed(seed)
        first = Sequential("x9371", [(lin, "x9371 -> x9371")])
        random.seed(seed)
        second = Sequential("x9371", [(lin, "x9371 -> x9371"), (lin, "x9371 -> x9371")])
    finally:
        random.setstate(state)
    # Both asked for the same module name; the second gets one of its own (#9371).
    assert type(first).__module__ == f"torch_geometric.nn.sequential_{uid}"
    assert type(second).__module__ != type(first).__module__
    assert type(second).__module__ in sys.modules
    assert (len(first), len(second)) == (1, 2)
    x, _ = graph()
    with torch.no_grad():
        assert torch.equal(first(x), lin(x))
        assert torch.equal(second(x), lin(lin(x)))


if __name__ == "__main__":
    # The record: python -m tests.affected.test_concurrency SHARED DISTINCT [off]
    counts = [int(value) for value in sys.argv[1:3]]
    mode = sys.argv[3] if len(sys.argv) > 3 else None
    print(json.dumps(run_sequential(*counts, env=environment(PYG_JIT_SHIM=mode)), indent=1))
