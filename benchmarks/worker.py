"""Runs inside each benchmark child process: one measurement, one JSON object on stdout.

Usage: ``python benchmarks/worker.py MEASUREMENT [--import-shim] [--budget S] [--quick]
[--classes N]``

Measurements:
  info         versions and the shim's verdict, read without importing torch
  warmup       imports torch_geometric once, to fill the page and bytecode caches
  import-shim  ``import pyg_jit_shim`` alone, timed in-process, and which heavy
               modules it pulled in
  layers       in this order, each phase before anything that could disturb it:
               [``import pyg_jit_shim`` +] ``import torch_geometric``; first and later
               construction of each layer; ``torch.jit.script`` of each; peak RSS;
               then per-call time of eager and scripted forward, one thread, on a
               small and a large graph
  factory      N layer classes made by a function (a class statement inside it), as a
               hyper-parameter search or a notebook makes them: each one constructed
               and run once, then all dropped; what stays in memory, ``sys.modules``
               and ``linecache`` afterwards, and the seconds per class

The driver (``run.py``) starts a fresh interpreter for every measurement. Nothing but
the JSON goes to stdout: anything else printed meanwhile is sent to stderr.

``import-shim`` runs before anything else is imported, so that the modules it reports
are the ones the shim pulled in: this module imports only ``sys`` and ``time`` at the
top and everything else where it is used.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, Callable, Dict, List, Optional, Tuple

LAYERS = ("GCNConv", "SAGEConv", "GINConv", "GraphConv", "GATConv")
GRAPHS = (("small", 100, 1_000), ("large", 10_000, 100_000))
CHANNELS = 16
HEAVY = ("torch", "torch_geometric", "wrapt", "jinja2", "numpy", "packaging",
         "importlib.metadata", "asyncio", "ssl", "inspect", "typing")
SEED = 12345


def _quiet_jit() -> None:
    import warnings

    # torch >= 2.9 deprecates TorchScript; the warning is expected, not news.
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return "{}: {}".format(type(error).__name__, text[0].strip() if text else "")[:300]


def _version(distribution: str) -> Optional[str]:
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return metadata.version(distribution)
    except Exception:
        return None


def _shim_status() -> Dict[str, Any]:
    """The verdict of an already imported shim; empty if it is not imported."""
    module = sys.modules.get("pyg_jit_shim")
    if module is None:
        return {}
    status = module.status()
    return {"verdict": status.verdict, "fixes": list(status.fixes),
            "skipped": list(status.skipped), "mode": status.mode}


def measure_info(_: argparse.Namespace) -> Dict[str, Any]:
    result: Dict[str, Any] = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "torch": _version("torch"),
        "torch_geometric": _version("torch_geometric"),
        "pyg_jit_shim": _version("pyg-jit-shim"),
    }
    try:
        import pyg_jit_shim  # noqa: F401
    except ImportError as error:
        result["shim_error"] = _describe(error)
    else:
        result["shim"] = _shim_status()
    return result


def measure_warmup(args: argparse.Namespace) -> Dict[str, Any]:
    start = time.perf_counter()
    if args.import_shim:
        import pyg_jit_shim  # noqa: F401
    import torch_geometric  # noqa: F401

    return {"seconds": time.perf_counter() - start}


def measure_import_shim(_: Optional[argparse.Namespace] = None) -> Dict[str, Any]:
    """Called first thing in the process (see ``main``): nothing else is imported yet."""
    before = set(sys.modules)
    start = time.perf_counter()
    try:
        import pyg_jit_shim  # noqa: F401
    except ImportError as error:
        return {"error": _describe(error)}
    seconds = time.perf_counter() - start
    new = sorted(set(sys.modules) - before)
    return {
        "seconds": seconds,
        "new_modules": len(new),
        "new_top_level": sorted({name.split(".")[0] for name in new}),
        "heavy": {name: name in sys.modules for name in HEAVY},
        "shim": _shim_status(),
    }


# ---------------------------------------------------------------- layers


def _factories(nn: Any, torch: Any) -> Dict[str, Callable[[], Any]]:
    """One constructor call per layer; whatever it needs is built beforehand."""
    import functools

    # Built here once: GINConv's first construction then times GINConv alone.
    mlp = torch.nn.Sequential(torch.nn.Linear(CHANNELS, CHANNELS), torch.nn.ReLU(),
                              torch.nn.Linear(CHANNELS, CHANNELS))
    return {name: functools.partial(getattr(nn, name),
                                    *((mlp,) if name == "GINConv" else (CHANNELS, CHANNELS)))
            for name in LAYERS}


def _typed_forward(conv: Any) -> Any:
    """GATConv's forward is overloaded: scripted, it is called through this module."""
    import torch
    from torch import Tensor

    class TypedForward(torch.nn.Module):  # type: ignore[misc]
        def __init__(self, conv: Any) -> None:
            super().__init__()
            self.conv = conv

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.conv(x, edge_index)

    return TypedForward(conv)


def _median(values: List[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _warm(call: Callable[[], Any], warmup: float) -> int:
    """Calls until warm (at least 3 calls, also TorchScript's profiling runs); returns
    how many calls make a batch of about 10 ms, so the timer's own cost does not count."""
    durations: List[float] = []
    start = time.perf_counter()
    while len(durations) < 3 or time.perf_counter() - start < warmup:
        begin = time.perf_counter()
        call()
        durations.append(time.perf_counter() - begin)
    return max(1, int(0.01 / max(min(durations[-3:]), 1e-9)))


def _batch(call: Callable[[], Any], number: int) -> float:
    begin = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - begin) / number


def _time_calls(call: Callable[[], Any], baseline: Callable[[], Any], budget: float,
                warmup: float) -> Dict[str, Any]:
    """Per-call seconds of ``call``, and the same relative to an interleaved baseline.

    Batches of ``call`` alternate with batches of ``baseline`` (plain torch, the same code
    in every environment) until ``budget`` seconds have passed, at least 5 pairs. On a
    shared machine whose speed drifts over seconds, ``normalized`` (the median of the
    per-pair ratios) cancels the drift that the raw ``median`` per-call time carries.
    """
    import gc

    number = _warm(call, warmup)
    base_number = _warm(baseline, warmup)
    per_call: List[float] = []
    per_base: List[float] = []
    gc.disable()  # no gc.collect() first: with torch loaded, it takes ~0.3 s here
    try:
        deadline = time.perf_counter() + budget
        while len(per_call) < 5 or time.perf_counter() < deadline:
            per_call.append(_batch(call, number))
            per_base.append(_batch(baseline, base_number))
    finally:
        gc.enable()
    pairs = [mine / base for mine, base in zip(per_call, per_base)]
    return {"median": _median(per_call), "min": min(per_call), "batches": len(per_call),
            "number": number, "baseline_median": _median(per_base),
            "normalized": _median(pairs)}


def _time_forward(module: Any, x: Any, edge_index: Any, baseline: Callable[[], Any],
                  budget: float, warmup: float) -> Dict[str, Any]:
    return _time_calls(lambda: module(x, edge_index), baseline, budget, warmup)


def _baseline(torch: Any, x: Any, edge_index: Any) -> Callable[[], Any]:
    """Message passing written in plain torch: gather, scatter-add, a linear map."""
    weight = torch.randn(CHANNELS, CHANNELS, generator=torch.Generator().manual_seed(SEED))
    source, target = edge_index[0], edge_index[1]

    def run() -> Any:
        out = torch.zeros_like(x).index_add_(0, target, x.index_select(0, source))
        return out @ weight

    return run


def _timed(action: Callable[[], Any]) -> Tuple[Any, float]:
    """``action()`` and its seconds, with garbage collection off meanwhile (as timeit).

    With torch and PyG loaded, a full collection takes a few hundred milliseconds here;
    left on, it lands in whichever construction or scripting crosses the threshold,
    which differs between environments for no reason that matters.
    """
    import gc

    gc.disable()
    try:
        start = time.perf_counter()
        value = action()
        return value, time.perf_counter() - start
    finally:
        gc.enable()


def _construct(factories: Dict[str, Callable[[], Any]], torch: Any,
               again: int) -> Dict[str, Any]:
    layers: Dict[str, Any] = {}
    first: Dict[str, float] = {}
    later: Dict[str, float] = {}
    for name, factory in factories.items():
        torch.manual_seed(SEED)  # the same parameters in every environment
        layers[name], first[name] = _timed(factory)
    for name, factory in factories.items():
        later[name] = _median([_timed(factory)[1] for _ in range(again)])
    return {"layers": layers, "first": first, "later": later}


def _script(layers: Dict[str, Any], torch: Any) -> Dict[str, Any]:
    import functools

    scripted: Dict[str, Any] = {}
    seconds: Dict[str, float] = {}
    errors: Dict[str, str] = {}
    for name, layer in layers.items():
        target = _typed_forward(layer) if name == "GATConv" else layer
        try:
            scripted[name], seconds[name] = _timed(functools.partial(torch.jit.script, target))
        except Exception as error:
            errors[name] = _describe(error)
    return {"modules": scripted, "seconds": seconds, "errors": errors}


def _max_rss_kib() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)  # bytes there


def _anon_kib() -> Optional[int]:
    """Anonymous resident memory now (Linux): unlike ``ru_maxrss``, it leaves out the
    pages of shared libraries, whose residency depends on the page cache (two venvs hold
    two copies of libtorch, cached differently)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _hot(layers: Dict[str, Any], scripted: Dict[str, Any], torch: Any,
         args: argparse.Namespace) -> Dict[str, Any]:
    timings: Dict[str, Dict[str, Any]] = {}
    checks: Dict[str, Dict[str, Any]] = {}
    generator = torch.Generator().manual_seed(SEED)
    warmup = 0.0 if args.quick else 0.05
    with torch.no_grad():
        for graph, nodes, edges in GRAPHS:
            x = torch.randn(nodes, CHANNELS, generator=generator)
            edge_index = torch.randint(0, nodes, (2, edges), generator=generator)
            baseline = _baseline(torch, x, edge_index)
            for name, layer in layers.items():
                eager_out = layer(x, edge_index)
                check: Dict[str, Any] = {"checksum": float(eager_out.double().sum())}
                timings[f"{graph}.eager.{name}"] = _time_forward(
                    layer, x, edge_index, baseline, args.budget, warmup)
                module = scripted.get(name)
                if module is not None:
                    difference = (module(x, edge_index) - eager_out).abs().max()
                    check["scripted_max_abs_diff"] = float(difference)
                    timings[f"{graph}.scripted.{name}"] = _time_forward(
                        module, x, edge_index, baseline, args.budget, warmup)
                checks[f"{graph}.{name}"] = check
    return {"timings": timings, "checks": checks}


def measure_layers(args: argparse.Namespace) -> Dict[str, Any]:
    _quiet_jit()
    start = time.perf_counter()
    if args.import_shim:
        import pyg_jit_shim  # noqa: F401
    shim_seconds = time.perf_counter() - start
    import torch_geometric

    startup = time.perf_counter() - start
    import torch
    from torch_geometric import nn

    torch.set_num_threads(1)
    rss_import, anon_import = _max_rss_kib(), _anon_kib()
    built = _construct(_factories(nn, torch), torch, 3 if args.quick else 10)
    scripted = _script(built["layers"], torch)
    rss_scripted, anon_scripted = _max_rss_kib(), _anon_kib()
    hot = _hot(built["layers"], scripted["modules"], torch, args)
    result: Dict[str, Any] = {
        "startup_s": startup,
        "shim_import_s": shim_seconds if args.import_shim else None,
        "construct_first_s": built["first"],
        "construct_again_s": built["later"],
        "script_s": scripted["seconds"],
        "script_errors": scripted["errors"],
        "maxrss_kib": rss_scripted,
        "maxrss_import_kib": rss_import,
        "anon_kib": anon_scripted,
        "anon_import_kib": anon_import,
        "hot_s": {key: value["median"] for key, value in hot["timings"].items()},
        "hot_normalized": {key: value["normalized"] for key, value in hot["timings"].items()},
        "hot_detail": hot["timings"],
        "checks": hot["checks"],
        "threads": torch.get_num_threads(),
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "torch_geometric": torch_geometric.__version__},
        "shim": _shim_status(),
    }
    _shim_after(result, args)
    return result


# ---------------------------------------------------------------- factory

FACTORY_WARMUP = 3


def _footprint(stem: str) -> Dict[str, Optional[int]]:
    import linecache

    return {"anon_kib": _anon_kib(), "modules": len(sys.modules),
            "linecache": len(linecache.cache),
            "stem_modules": sum(1 for name in list(sys.modules) if stem in name)}


def measure_factory(args: argparse.Namespace) -> Dict[str, Any]:
    _quiet_jit()
    if args.import_shim:
        import pyg_jit_shim  # noqa: F401
    import gc

    import factory_layers
    import torch
    import torch_geometric

    stem = factory_layers.STEM
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(SEED)
    x = torch.randn(8, 4, generator=generator)
    edge_index = torch.randint(0, 8, (2, 24), generator=generator)
    expected = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
    # Another class name: the warm-up leaves the factory's own first generation,
    # module name and all, to the measured loop.
    factory_layers.make_and_run(FACTORY_WARMUP, "BenchWarmupLayer", x, edge_index, expected)
    gc.collect()
    before = _footprint(stem)
    # Garbage collection stays on: a long loop of class building pays for it, and
    # classes (reference cycles) are freed only by it.
    start = time.perf_counter()
    outcome = factory_layers.make_and_run(args.classes, stem, x, edge_index, expected)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    gc.collect()
    collect_seconds = time.perf_counter() - start
    after = _footprint(stem)
    result: Dict[str, Any] = {
        "classes": args.classes,
        "per_class_s": seconds / args.classes,
        "loop_s": seconds,
        "collect_s": collect_seconds,
        "before": before,
        "after": after,
        "generated": outcome["generated"],
        "wrong_outputs": outcome["wrong"],
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "torch_geometric": torch_geometric.__version__},
        "shim": _shim_status(),
    }
    _shim_after(result, args)
    return result


def _shim_after(result: Dict[str, Any], args: argparse.Namespace) -> None:
    """Only now, after every measurement: is the shim a no-op in this environment?"""
    if args.import_shim:
        return
    try:
        import pyg_jit_shim  # noqa: F401
    except ImportError as error:
        result["shim_after"] = {"error": _describe(error)}
    else:
        result["shim_after"] = _shim_status()


MEASUREMENTS: Dict[str, Callable[[argparse.Namespace], Dict[str, Any]]] = {
    "info": measure_info,
    "warmup": measure_warmup,
    "import-shim": measure_import_shim,
    "layers": measure_layers,
    "factory": measure_factory,
}


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stdout = sys.stdout
    if argv == ["import-shim"]:
        result = measure_import_shim()  # before argparse, json or anything else loads
    else:
        sys.stdout = sys.stderr  # what PyG or torch may print must not corrupt the JSON
        try:
            result = _dispatch(argv)
        finally:
            sys.stdout = stdout
    import json
    import os

    result["pid"] = os.getpid()
    stdout.write(json.dumps(result) + "\n")
    stdout.flush()
    return 0


def _dispatch(argv: List[str]) -> Dict[str, Any]:
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("measurement", choices=sorted(MEASUREMENTS))
    parser.add_argument("--import-shim", action="store_true",
                        help="import pyg_jit_shim before torch_geometric")
    parser.add_argument("--budget", type=float, default=0.15,
                        help="seconds of timed calls per hot-path measurement")
    parser.add_argument("--quick", action="store_true", help="short warm-ups, fewer repeats")
    parser.add_argument("--classes", type=int, default=2000,
                        help="classes the factory measurement makes and drops")
    args = parser.parse_args(argv)
    return MEASUREMENTS[args.measurement](args)


if __name__ == "__main__":
    sys.exit(main())
