"""Side-by-side benchmark: PyG 2.5.2 with pyg_jit_shim against PyG 2.5.3.

Usage::

    python benchmarks/run.py --python-shim PATH --python-ref PATH [--rounds N] [--quick]
                             [--only MEASUREMENT[,...]] [--classes N]

``--python-shim`` is an interpreter whose environment has torch_geometric 2.5.2 and the
shim; ``--python-ref`` one with torch_geometric 2.5.3 (the shim may be installed there too:
it is a no-op on 2.5.3). Either may be a wrapper script. Each path must define its whole
environment: the children get no PYTHONPATH from this process.

Four configurations run, each measurement in a fresh subprocess (``worker.py``):

  shim    2.5.2 environment, ``import pyg_jit_shim`` first
  ref     2.5.3 environment, plain ``import torch_geometric``
  ref2    the same as ref again: the A/A comparison that shows the noise
  noshim  2.5.2 environment with PYG_JIT_SHIM=off (the shim is imported, touches nothing)

Measurements (``--only`` picks some; by default all run):

  import-shim  ``import pyg_jit_shim`` alone
  layers       start-up, construction, scripting, memory and forward calls of five layers
  factory      N layer classes made by a function and dropped (``--classes``, default
               2,000): seconds per class, and what stays in memory, ``sys.modules`` and
               ``linecache``; reported as absolute growth next to the A/A difference

Each round runs them in one order and the next round in the reverse order (ABBA), so
drift of the machine hits every configuration alike. Ratios are taken within a round
(configuration / ref) and summarised over rounds: median [min, max]. Nothing here passes
or fails on time. Results: a Markdown table on stdout and in ``results/latest.md``, the
raw data in ``results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
RESULTS = HERE / "results"

LAYERS = ("GCNConv", "SAGEConv", "GINConv", "GraphConv", "GATConv")
REFERENCE = "ref"
COMPARED = ("shim", "ref2", "noshim")  # each divided by REFERENCE, round by round


class Config(NamedTuple):
    key: str
    label: str
    python: str
    shim_mode: Optional[str]  # the value of PYG_JIT_SHIM; None leaves it unset
    import_shim: bool  # whether the layers worker imports pyg_jit_shim first


class Metric(NamedTuple):
    key: str
    label: str
    unit: str  # "s", "x", "KiB" or "" (a count)
    group: str
    source: str = "layers"  # the worker measurement that gives it
    # "ratio": configuration / reference; "growth": a signed amount that can be near
    # zero, where a ratio means nothing, compared as configuration - reference; "count":
    # the same, an amount that cannot be negative.
    kind: str = "ratio"


MEASUREMENTS = ("import-shim", "layers", "factory")
FACTORY_COST = "Classes made by a factory: cost"
FACTORY_LEFT = "Classes made by a factory: left after they are dropped"


def _metrics() -> List[Metric]:
    metrics = [
        Metric("import_shim", "`import pyg_jit_shim` alone", "s", "Start-up", "import-shim"),
        Metric("startup", "[`import pyg_jit_shim`;] `import torch_geometric`", "s",
               "Start-up"),
    ]
    metrics += [Metric(f"construct_first.{name}", f"first `{name}(...)`", "s",
                       "First construction (the generation)") for name in LAYERS]
    metrics.append(Metric("construct_first.total", "all five, total", "s",
                          "First construction (the generation)"))
    metrics += [Metric(f"construct_again.{name}", f"later `{name}(...)` (median of 10)", "s",
                       "Later construction") for name in LAYERS]
    metrics += [Metric(f"script.{name}", f"`torch.jit.script({name})`", "s", "Scripting")
                for name in LAYERS]
    metrics.append(Metric("script.total", "all five, total", "s", "Scripting"))
    metrics += [
        Metric("maxrss", "peak RSS after import, build and script of all five", "KiB",
               "Memory"),
        Metric("maxrss_growth", "growth of the peak during build and script", "KiB",
               "Memory"),
        Metric("anon", "anonymous RSS (RssAnon) after import, build and script", "KiB",
               "Memory"),
        Metric("anon_growth", "growth of RssAnon during build and script", "KiB", "Memory"),
    ]
    for graph, size in (("small", "100 nodes, 1,000 edges"),
                        ("large", "10,000 nodes, 100,000 edges")):
        for prefix, unit, kind in (("hot", "s", "per call"),
                                   ("hotn", "x", "relative to the in-process baseline")):
            for mode in ("eager", "scripted"):
                metrics += [Metric(f"{prefix}.{graph}.{mode}.{name}",
                                   f"{name} {mode}, {graph}", unit,
                                   f"Forward {kind}, one thread, {size}") for name in LAYERS]
    metrics += [
        Metric("factory.per_class", "per class: class statement, construction, one forward",
               "s", FACTORY_COST, "factory"),
        Metric("factory.anon", "anonymous RSS (RssAnon), KiB", "KiB", FACTORY_LEFT, "factory",
               "growth"),
        Metric("factory.modules", "`sys.modules` entries", "", FACTORY_LEFT, "factory",
               "growth"),
        Metric("factory.linecache", "`linecache.cache` entries", "", FACTORY_LEFT, "factory",
               "growth"),
        Metric("factory.generated", "modules named after the factory's class, still in "
               "`sys.modules`", "", FACTORY_LEFT, "factory", "count"),
    ]
    return metrics


METRICS = _metrics()
# Summary rows. Construction and scripting share one-time costs (the first layer to
# need a helper compiles it), so their summary is the total over the five layers; the
# forward rows are independent, so theirs is the geometric mean of the per-layer ratios.
TOTALS = (
    ("construct_first", "first construction, all five (total)"),
    ("script", "`torch.jit.script`, all five (total)"),
)
GEOMEANS = tuple(
    (f"{prefix}.{graph}.{mode}", f"forward{kind}, {graph} graph, {mode}")
    for prefix, kind in (("hot", ""), ("hotn", " relative to baseline"))
    for graph in ("small", "large") for mode in ("eager", "scripted")
)


def interpreter(path: str) -> str:
    """An absolute path: the children run in a temporary directory."""
    if os.sep in path or (os.altsep and os.altsep in path):
        return os.path.abspath(path)
    return shutil.which(path) or path  # a bare name such as python3, found on PATH


def make_configs(python_shim: str, python_ref: str) -> Dict[str, Config]:
    python_shim, python_ref = interpreter(python_shim), interpreter(python_ref)
    configs = (
        Config("shim", "2.5.2 + shim", python_shim, None, True),
        Config("ref", "2.5.3 (reference)", python_ref, None, False),
        Config("ref2", "2.5.3 again (A/A)", python_ref, None, False),
        Config("noshim", "2.5.2, PYG_JIT_SHIM=off", python_shim, "off", True),
    )
    return {config.key: config for config in configs}


ORDER = ("shim", "ref", "ref2", "noshim")


def round_order(index: int) -> Tuple[str, ...]:
    """ABBA: every other round runs the configurations in reverse."""
    return ORDER if index % 2 == 0 else tuple(reversed(ORDER))


# ---------------------------------------------------------------- children


class Runner:
    def __init__(self, tmpdir: str, timeout: float) -> None:
        self.tmpdir = tmpdir
        self.timeout = timeout
        self.records: List[Dict[str, Any]] = []
        self.started = time.perf_counter()

    def environment(self, config: Config) -> Dict[str, str]:
        env = dict(os.environ)
        for name in ("PYTHONPATH", "PYTHONHOME", "PYG_JIT_SHIM", "PYG_JIT_SHIM_DUMP_DIR"):
            env.pop(name, None)
        if config.shim_mode is not None:
            env["PYG_JIT_SHIM"] = config.shim_mode
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   PYTHONHASHSEED="0",
                   # PyG 2.5.3 leaves one file per layer class in the temp dir.
                   TMPDIR=self.tmpdir, TEMP=self.tmpdir, TMP=self.tmpdir)
        return env

    def run(self, config: Config, measurement: str, extra: List[str],
            round_index: Optional[int] = None) -> Dict[str, Any]:
        command = [config.python, str(WORKER), measurement, *extra]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, env=self.environment(config), cwd=self.tmpdir,
                                  capture_output=True, text=True, timeout=self.timeout,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            result: Dict[str, Any] = {"error": f"{type(error).__name__}: {error}"}
        else:
            result = _parse(done.stdout, done.stderr, done.returncode)
        wall = time.perf_counter() - start
        self.records.append({"round": round_index, "config": config.key,
                             "measurement": measurement, "wall_s": wall, "result": result})
        state = "error: " + result["error"] if "error" in result else "ok"
        where = "" if round_index is None else f"round {round_index + 1} "
        _progress(f"{where}{measurement:<11} {config.key:<6} {wall:6.1f} s  {state}")
        return result


def _parse(stdout: str, stderr: str, returncode: int) -> Dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if returncode == 0 and lines:
        try:
            parsed = json.loads(lines[-1])
        except ValueError:
            pass
        else:
            if isinstance(parsed, dict):
                return parsed
    tail = stderr.strip().splitlines()[-5:]
    return {"error": f"exit status {returncode}: " + (" | ".join(tail) or "no output")}


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the run


class Plan(NamedTuple):
    rounds: int
    import_reps: int  # `import pyg_jit_shim` processes per configuration and round
    budget: float  # seconds of timed calls per hot-path measurement
    quick: bool
    warmup: bool
    minutes: float  # no round starts that would, at the pace so far, end after this
    only: Tuple[str, ...]  # the measurements that run, in MEASUREMENTS' order
    classes: int  # what the factory measurement makes and drops


def check_environments(info: Dict[str, Dict[str, Any]]) -> Tuple[List[str], List[str]]:
    """What makes the run meaningless (first list), and what the reader should know."""
    fatal: List[str] = []
    warnings: List[str] = []
    for key, wanted in (("shim", "2.5.2"), ("ref", "2.5.3")):
        result = info[key]
        if "error" in result:
            fatal.append(f"the {key} interpreter does not run the worker: {result['error']}")
            continue
        version = result.get("torch_geometric")
        if version is None:
            fatal.append(f"the {key} environment has no torch_geometric")
        elif version != wanted:
            warnings.append(f"the {key} environment has torch_geometric {version}, "
                            f"not {wanted}")
        if "shim_error" in result:
            message = f"pyg_jit_shim is not importable in the {key} environment"
            if key == "shim":
                fatal.append(message)
            else:
                warnings.append(message + ": its `import pyg_jit_shim` row has no reference")
    return fatal, warnings


def collect(configs: Dict[str, Config], plan: Plan, runner: Runner) -> Dict[str, Any]:
    info = {key: runner.run(configs[key], "info", []) for key in ("shim", "ref")}
    fatal, warnings = check_environments(info)
    for warning in warnings:
        _progress("warning: " + warning)
    if fatal:
        raise SystemExit("cannot run the benchmark: " + "; ".join(fatal))
    if plan.warmup:  # untimed: fills the page cache, so round 1 is not the cold one
        for key in ("shim", "ref"):
            runner.run(configs[key], "warmup", [])
    values: Dict[str, Dict[str, List[Optional[float]]]] = {
        key: {metric.key: [] for metric in METRICS} for key in configs}
    started = time.perf_counter()
    stopped = None
    rounds = 0
    for index in range(plan.rounds):
        pace = (time.perf_counter() - started) / index if index else 0.0
        if index and time.perf_counter() - runner.started + pace > plan.minutes * 60:
            stopped = (f"stopped after {index} of {plan.rounds} rounds: another would end "
                       f"after the {plan.minutes:g}-minute limit (--minutes)")
            _progress(stopped)
            break
        rows = one_round(configs, plan, runner, index)
        for key, row in rows.items():
            for metric in METRICS:
                values[key][metric.key].append(row.get(metric.key))
        rounds += 1
    if stopped:
        warnings.append(stopped)
    return {"info": info, "warnings": warnings, "values": values, "rounds": rounds}


def one_round(configs: Dict[str, Config], plan: Plan, runner: Runner,
              index: int) -> Dict[str, Dict[str, Optional[float]]]:
    """Each measurement of ``plan.only`` for every configuration, in this round's order."""
    order = round_order(index)
    rows: Dict[str, Dict[str, Optional[float]]] = {key: {} for key in configs}
    alone: Dict[str, List[float]] = {key: [] for key in configs}
    for rep in range(plan.import_reps if "import-shim" in plan.only else 0):
        for key in order if rep % 2 == 0 else tuple(reversed(order)):
            result = runner.run(configs[key], "import-shim", [], index)
            if "seconds" in result:
                alone[key].append(result["seconds"])
    for key in order:
        rows[key]["import_shim"] = statistics.median(alone[key]) if alone[key] else None
    layers = ["--budget", str(plan.budget)] + (["--quick"] if plan.quick else [])
    for measurement, flags, flattened in (
            ("layers", layers, flatten),
            ("factory", ["--classes", str(plan.classes)], flatten_factory)):
        if measurement not in plan.only:
            continue
        for key in order:
            config = configs[key]
            shim = ["--import-shim"] if config.import_shim else []
            rows[key].update(flattened(runner.run(config, measurement, flags + shim, index)))
    return rows


def flatten(result: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """One number per metric from a ``layers`` result; missing ones are absent."""
    if "error" in result:
        return {}
    row: Dict[str, Optional[float]] = {"startup": result.get("startup_s")}
    for prefix, field in (("construct_first", "construct_first_s"),
                          ("construct_again", "construct_again_s"),
                          ("script", "script_s")):
        for name, value in result.get(field, {}).items():
            row[f"{prefix}.{name}"] = value
    for prefix in ("construct_first", "script"):
        parts = [row.get(f"{prefix}.{name}") for name in LAYERS]
        if all(part is not None for part in parts):
            row[f"{prefix}.total"] = sum(part for part in parts if part is not None)
    for name, value in result.get("hot_s", {}).items():
        row[f"hot.{name}"] = value
    for name, value in result.get("hot_normalized", {}).items():
        row[f"hotn.{name}"] = value
    if result.get("maxrss_kib") is not None:
        row["maxrss"] = float(result["maxrss_kib"])
        row["maxrss_growth"] = float(result["maxrss_kib"] - result["maxrss_import_kib"])
    if result.get("anon_kib") is not None and result.get("anon_import_kib") is not None:
        row["anon"] = float(result["anon_kib"])
        row["anon_growth"] = float(result["anon_kib"] - result["anon_import_kib"])
    return row


def flatten_factory(result: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """One number per metric from a ``factory`` result: growth from before the loop to
    after the drop."""
    if "error" in result:
        return {}
    before, after = result["before"], result["after"]
    row: Dict[str, Optional[float]] = {"factory.per_class": result["per_class_s"]}
    for metric, field in (("anon", "anon_kib"), ("modules", "modules"),
                          ("linecache", "linecache"), ("generated", "stem_modules")):
        if before.get(field) is not None and after.get(field) is not None:
            row[f"factory.{metric}"] = float(after[field] - before[field])
    return row


# ---------------------------------------------------------------- statistics


def spread(samples: List[float]) -> Optional[Dict[str, float]]:
    if not samples:
        return None
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "n": len(samples)}


def ratios(values: Dict[str, Dict[str, List[Optional[float]]]], key: str,
           metric: str) -> List[float]:
    """Per round: the configuration's value divided by the reference's."""
    pairs = zip(values[key][metric], values[REFERENCE][metric])
    return [mine / ref for mine, ref in pairs if mine is not None and ref]


def differences(values: Dict[str, Dict[str, List[Optional[float]]]], key: str,
                metric: str) -> List[float]:
    """Per round: the configuration's value minus the reference's."""
    pairs = zip(values[key][metric], values[REFERENCE][metric])
    return [mine - ref for mine, ref in pairs if mine is not None and ref is not None]


def geomean_ratios(values: Dict[str, Dict[str, List[Optional[float]]]], key: str,
                   prefix: str) -> List[float]:
    per_layer = [ratios(values, key, f"{prefix}.{name}") for name in LAYERS]
    rounds = len(values[REFERENCE][f"{prefix}.{LAYERS[0]}"])
    if any(len(layer) != rounds for layer in per_layer):
        return []  # a layer is missing in some round (e.g. scripting failed)
    return [math.exp(sum(math.log(layer[index]) for layer in per_layer) / len(LAYERS))
            for index in range(rounds)]


def summarise(values: Dict[str, Dict[str, List[Optional[float]]]]) -> Dict[str, Any]:
    summary: Dict[str, Any] = {}
    for metric in METRICS:
        entry: Dict[str, Any] = {"absolute": {}}
        for key in values:
            present = [value for value in values[key][metric.key] if value is not None]
            entry["absolute"][key] = spread(present)
        compare, name = (ratios, "ratio") if metric.kind == "ratio" else (differences,
                                                                         "difference")
        entry[name] = {key: spread(compare(values, key, metric.key)) for key in COMPARED}
        summary[metric.key] = entry
    for prefix, _ in GEOMEANS:
        summary[f"geomean.{prefix}"] = {
            "ratio": {key: spread(geomean_ratios(values, key, prefix)) for key in COMPARED}}
    return summary


def versus_noise(ratio: Optional[Dict[str, float]], noise: Optional[Dict[str, float]]) -> str:
    """Where the shim's median ratio lies against the A/A spread; never a verdict."""
    if not ratio or not noise:
        return "n/a"
    if noise["min"] <= ratio["median"] <= noise["max"]:
        return "within"
    side = "above" if ratio["median"] > noise["max"] else "below"
    disjoint = ratio["min"] > noise["max"] or ratio["max"] < noise["min"]
    return f"**{side}**, disjoint" if disjoint else side


# ---------------------------------------------------------------- the report


def _quantity(value: Optional[float], unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.3g}x"
    if unit == "KiB":
        return f"{value / 1024:.0f} MiB" if value >= 10240 else f"{value / 1024:.1f} MiB"
    for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale or name == "µs":
            shown = value / scale
            return f"{shown:.3g} {name}" if shown < 100 else f"{shown:.0f} {name}"
    return "n/a"  # pragma: no cover


def _ratio(entry: Optional[Dict[str, float]]) -> str:
    if not entry:
        return "n/a"
    return "{:.3f} [{:.3f}, {:.3f}]".format(entry["median"], entry["min"], entry["max"])


def _absolute(entry: Optional[Dict[str, float]], unit: str) -> str:
    return _quantity(entry["median"], unit) if entry else "n/a"


def _amount(entry: Optional[Dict[str, float]], signed: bool) -> str:
    """Median [min, max] of a growth or count; one number where they all agree."""
    if not entry:
        return "n/a"
    form = "{:+,.0f}" if signed else "{:,.0f}"
    if entry["min"] == entry["max"]:
        return form.format(entry["median"])
    return "{} [{}, {}]".format(*(form.format(entry[part])
                                  for part in ("median", "min", "max")))


HEADER = ("| measurement | 2.5.3 ref | 2.5.2 + shim | **shim / ref** | A/A: ref / ref "
          "| 2.5.2 no shim / ref | shim vs A/A |\n|---|---:|---:|---:|---:|---:|---|")
# Growth and counts: each configuration's own value, median [min, max] over the rounds,
# then the differences to the reference in the same round.
HEADER_GROWTH = ("| measurement | 2.5.3 ref | 2.5.2 + shim | 2.5.3 again (A/A) "
                 "| 2.5.2 no shim | **shim - ref** | A/A: ref2 - ref | shim vs A/A |\n"
                 "|---|---:|---:|---:|---:|---:|---:|---|")


ORDER_SHOWN = (REFERENCE, "shim", "ref2", "noshim")


def _row(metric: Metric, entry: Dict[str, Any]) -> str:
    absolute = entry["absolute"]
    if metric.kind == "ratio":
        ratio = entry["ratio"]
        return "| {} | {} | {} | {} | {} | {} | {} |".format(
            metric.label, _absolute(absolute[REFERENCE], metric.unit),
            _absolute(absolute["shim"], metric.unit), _ratio(ratio["shim"]),
            _ratio(ratio["ref2"]), _ratio(ratio["noshim"]),
            versus_noise(ratio["shim"], ratio["ref2"]))
    difference = entry["difference"]
    signed = metric.kind == "growth"
    return "| {} | {} | {} | {} | {} | {} | {} | {} |".format(
        metric.label, *(_amount(absolute[key], signed) for key in ORDER_SHOWN),
        _amount(difference["shim"], True), _amount(difference["ref2"], True),
        versus_noise(difference["shim"], difference["ref2"]))


def table(summary: Dict[str, Any], only: Tuple[str, ...]) -> List[str]:
    lines: List[str] = []
    if "layers" in only:
        lines += ["### Summary (forward: geometric mean over the five layers of each "
                  "round's ratios)", "", HEADER]
        rows = [(summary[f"{prefix}.total"]["ratio"], label) for prefix, label in TOTALS]
        rows += [(summary[f"geomean.{prefix}"]["ratio"], f"{label} (geometric mean)")
                 for prefix, label in GEOMEANS]
        for ratio, label in rows:
            lines.append("| {} | | | {} | {} | {} | {} |".format(
                label, _ratio(ratio["shim"]), _ratio(ratio["ref2"]), _ratio(ratio["noshim"]),
                versus_noise(ratio["shim"], ratio["ref2"])))
    group = None
    for metric in METRICS:
        if metric.source not in only:
            continue
        if metric.group != group:
            group = metric.group
            header = HEADER if metric.kind == "ratio" else HEADER_GROWTH
            lines += ["", f"### {group}", "", header]
        lines.append(_row(metric, summary[metric.key]))
    if lines and not lines[0]:
        del lines[0]
    return lines


def _results(records: List[Dict[str, Any]], key: str,
             measurement: str = "layers") -> List[Dict[str, Any]]:
    """The successful results of one measurement of one configuration."""
    return [record["result"] for record in records
            if record["config"] == key and record["measurement"] == measurement
            and "error" not in record["result"]]


def notes(configs: Dict[str, Config], records: List[Dict[str, Any]],
          warnings: List[str], only: Tuple[str, ...]) -> List[str]:
    lines = ["", "### Environments and checks", ""]
    measured = [name for name in ("layers", "factory") if name in only]
    for key, config in configs.items():
        results = {name: _results(records, key, name) for name in measured}
        sample = next((found[0] for found in results.values() if found), {})
        versions = sample.get("versions") or _info(records, key)
        shim = sample.get("shim") or sample.get("shim_after") or {}
        verdict = shim.get("verdict") or shim.get("error") or "not imported"
        if key in ("ref", "ref2") and sample.get("shim_after"):
            verdict = "imported only after the measurements: " + verdict
        succeeded = ", ".join("{} of {} {} processes".format(
            len(results[name]), sum(1 for record in records if record["config"] == key
                                    and record["measurement"] == name),
            "layer" if name == "layers" else name) for name in measured)
        lines.append("- **{}** (`{}`): Python {}, torch {}, torch_geometric {}{}.".format(
            config.label, config.python, versions.get("python", "?"),
            versions.get("torch", "?"), versions.get("torch_geometric", "?"),
            f"; shim: {verdict}; {succeeded} succeeded" if measured else ""))
    if "import-shim" in only:
        lines += _import_notes(configs, records)
    lines += _script_notes(configs, records)
    lines += _check_notes(configs, records)
    lines += _factory_notes(configs, records)
    failures = [record for record in records if "error" in record["result"]]
    for record in failures:
        lines.append("- failed: {} {} (round {}): {}".format(
            record["measurement"], record["config"], record["round"],
            record["result"]["error"]))
    lines += [f"- warning: {warning}" for warning in warnings]
    return lines


def _info(records: List[Dict[str, Any]], key: str) -> Dict[str, Any]:
    """The versions the ``info`` process read from the environment's metadata."""
    environment = "ref" if key in ("ref", "ref2") else "shim"
    found = _results(records, environment, "info")
    return found[0] if found else {}


def _import_notes(configs: Dict[str, Config], records: List[Dict[str, Any]]) -> List[str]:
    lines = []
    for key in ("shim", "ref", "noshim"):
        results = _results(records, key, "import-shim")
        if not results:
            lines.append(f"- `import pyg_jit_shim` alone, {configs[key].label}: not measured")
            continue
        result = results[0]
        heavy = result.get("heavy", {})
        pulled = [name for name, present in heavy.items() if present]
        lines.append("- `import pyg_jit_shim` alone, {}: verdict `{}`, {} new modules; "
                     "torch {}, torch_geometric {}, wrapt {}; of the other heavy ones: {}."
                     .format(configs[key].label, result.get("shim", {}).get("verdict"),
                             result.get("new_modules"),
                             *("imported" if heavy.get(name) else "not imported"
                               for name in ("torch", "torch_geometric", "wrapt")),
                             ", ".join(name for name in pulled
                                       if name not in ("torch", "torch_geometric", "wrapt"))
                             or "none"))
    return lines


def _script_notes(configs: Dict[str, Config], records: List[Dict[str, Any]]) -> List[str]:
    lines = []
    for key, config in configs.items():
        errors: Dict[str, str] = {}
        for result in _results(records, key):
            errors.update(result.get("script_errors") or {})
        if errors:
            first = next(iter(errors.values()))
            lines.append("- {}: `torch.jit.script` failed for {} ({}); its scripted rows, "
                         "scripting times and memory are not comparable.".format(
                             config.label, ", ".join(sorted(errors)), first))
    return lines


def _check_notes(configs: Dict[str, Config], records: List[Dict[str, Any]]) -> List[str]:
    """Do the shim's outputs equal 2.5.3's (same seeds), and scripted equal eager?"""
    reference = _results(records, REFERENCE)
    if not reference:
        return []
    expected = {name: check["checksum"]
                for name, check in (reference[0].get("checks") or {}).items()}
    lines = []
    for key in ("shim", "noshim", "ref2"):
        mismatched = set()
        differences: List[float] = []
        for result in _results(records, key):
            for name, check in (result.get("checks") or {}).items():
                wanted = expected.get(name)
                if wanted is None or not math.isclose(check["checksum"], wanted,
                                                      rel_tol=1e-9, abs_tol=1e-6):
                    mismatched.add(name)
                if "scripted_max_abs_diff" in check:
                    differences.append(check["scripted_max_abs_diff"])
        scripted = (f"max abs difference {max(differences):.2g}" if differences
                    else "nothing scripted")
        lines.append("- forward outputs of {} against 2.5.3 (same seeds, all graphs and "
                     "layers): {}; scripted against eager: {}.".format(
                         configs[key].label, "identical" if not mismatched
                         else "differ for " + ", ".join(sorted(mismatched)), scripted))
    return lines


def _factory_notes(configs: Dict[str, Config], records: List[Dict[str, Any]]) -> List[str]:
    """Did every class generate its propagate and compute the right output?"""
    lines = []
    for key, config in configs.items():
        results = _results(records, key, "factory")
        if not results:
            continue
        made = sum(result["classes"] for result in results)
        lines.append("- factory, {}: {:,} of {:,} classes ran a generated `propagate`, {:,} "
                     "gave a wrong output; `gc.collect()` after the drop: {} (median).".format(
                         config.label, sum(result["generated"] for result in results), made,
                         sum(result["wrong_outputs"] for result in results),
                         _quantity(statistics.median(result["collect_s"]
                                                     for result in results), "s")))
    return lines


def report(configs: Dict[str, Config], collected: Dict[str, Any], summary: Dict[str, Any],
           records: List[Dict[str, Any]], meta: Dict[str, Any]) -> str:
    only = tuple(meta["only"])
    lines = [
        "## pyg_jit_shim benchmark: PyG 2.5.2 + shim against PyG 2.5.3",
        "",
        "{} rounds, configurations alternated ABBA, every measurement in a fresh process; "
        "run took {:.0f} s on {} ({} CPUs, load average {} at start, {} at end){}.".format(
            meta["rounds"], meta["total_s"], meta["machine"], meta["cpus"],
            meta["load_start"], meta["load_end"], (", quick mode" if meta["quick"] else "")
            + ("" if only == MEASUREMENTS else ", only " + ", ".join(only))),
        "",
        "Each ratio is the configuration's time (or memory) divided by the 2.5.3 reference's "
        "in the same round, given as median [min, max] over the rounds; below 1 means less "
        "than 2.5.3. **A/A** divides a second 2.5.3 process by the first: the spread a ratio "
        "shows when nothing differs. *shim vs A/A* says where the shim's median lies against "
        "that spread (*disjoint*: the two intervals do not even overlap). Nothing here is a "
        "pass or a fail. *No shim* is the 2.5.2 environment with `PYG_JIT_SHIM=off`, where the "
        "shim is imported but touches nothing{}. Absolute columns are medians over the "
        "rounds.".format("; there `torch.jit.script` fails for these layers, so it has eager "
                         "numbers only" if "layers" in only else ""),
        "",
    ]
    layers_text = [
        "In the start-up rows the reference runs plain `import torch_geometric`; the shim "
        "and no-shim runs `import pyg_jit_shim, torch_geometric`. `import pyg_jit_shim` "
        "alone is compared with the same import in the 2.5.3 environment, where the shim is "
        "a no-op. One process per configuration and round measures, in this order: start-up, "
        "first construction of each layer (fixed order, so GCNConv's includes one-time "
        "costs), later constructions, scripting, peak RSS (`ru_maxrss` of that process at "
        "that point; it counts the resident pages of shared libraries too, which depend on "
        "the page cache and differ between two venvs with their own copies of libtorch, so "
        "the anonymous RSS, `RssAnon`, is given beside it), then the forward calls under "
        "`torch.no_grad()` with "
        "`torch.set_num_threads(1)`. Garbage collection is off inside each timed construction, "
        "scripting and batch of forward calls (as `timeit` does), so that a full collection "
        "(a few hundred ms with torch loaded) does not land on whichever layer crosses the "
        "threshold. GATConv is scripted through a small typed wrapper module, since its "
        "forward is overloaded.",
        "",
        "The forward rows come twice. *Per call*: the median per-call time over batches of "
        "about 10 ms. *Relative to the in-process baseline*: those batches alternate with "
        "batches of the same message passing written in plain torch (gather, "
        "`index_add_`, a 16x16 matmul, on the same graph; the same code in every "
        "environment), and the row gives the median of the per-pair ratios. A shared "
        "machine's speed drifts over seconds; the pairs cancel that drift, the raw "
        "per-call times carry it (compare the A/A columns of the two).",
        "",
    ]
    if "layers" in only:
        lines += layers_text
    if "factory" in only:
        lines += [
            "*Classes made by a factory*: one process per configuration and round calls a "
            "function {:,} times that defines a `MessagePassing` subclass with a class "
            "statement (the same name every time, as a hyper-parameter search or a notebook "
            "cell makes them), constructs it and runs one small forward; then it drops them "
            "all and runs `gc.collect()`. A warm-up of 3 such classes under another name "
            "comes first, so one-time costs do not count, but the factory's own first "
            "generation does. *Per class* is the whole loop divided by the classes, garbage "
            "collection on. The rows below it are growth from before the loop to after the "
            "drop, absolute, median [min, max] over the rounds: they can be near zero, where "
            "a ratio says nothing, so *shim - ref* is the difference within a round, and "
            "*A/A* the same difference between two 2.5.3 processes. The last row counts the "
            "modules whose name contains the class's name.".format(meta["classes"]),
            "",
        ]
    lines += table(summary, only)
    lines += notes(configs, records, collected["warnings"], only)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def _only(parser: argparse.ArgumentParser, given: Optional[List[str]]) -> Tuple[str, ...]:
    if not given:
        return MEASUREMENTS
    names = {name.strip() for value in given for name in value.split(",") if name.strip()}
    unknown = sorted(names.difference(MEASUREMENTS))
    if unknown or not names:
        parser.error("--only takes {}; got: {}".format(
            ", ".join(MEASUREMENTS), ", ".join(unknown) or "nothing"))
    return tuple(name for name in MEASUREMENTS if name in names)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--python-shim", required=True,
                        help="interpreter of the environment with PyG 2.5.2 and the shim")
    parser.add_argument("--python-ref", required=True,
                        help="interpreter of the environment with PyG 2.5.3")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternated rounds (default 6, --quick 2); even is best")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 rounds, short measurements, no warm-up process")
    # A round takes about 2 minutes on a busy 2-core machine (6 took 12.5 min in all).
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="start no round that would, at the pace so far, end after this "
                        "many minutes of the whole run (default %(default)s): the machine "
                        "may be busier than usual")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="where latest.md and latest.json go (default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="MEASUREMENT[,...]",
                        help="run only these measurements, of: {} (default: all); may be "
                        "repeated".format(", ".join(MEASUREMENTS)))
    parser.add_argument("--classes", type=int, default=None,
                        help="classes the factory measurement makes and drops per process "
                        "(default 2000, --quick 200)")
    args = parser.parse_args(argv)
    only = _only(parser, args.only)
    plan = Plan(rounds=args.rounds or (2 if args.quick else 6),
                import_reps=3 if args.quick else 6,
                budget=0.02 if args.quick else 0.15, quick=args.quick,
                warmup=not args.quick, minutes=args.minutes, only=only,
                classes=(200 if args.quick else 2000) if args.classes is None
                else args.classes)
    if plan.rounds < 1:
        parser.error("--rounds must be at least 1")
    if plan.classes < 1:
        parser.error("--classes must be at least 1")
    configs = make_configs(args.python_shim, args.python_ref)
    started, load_start = time.perf_counter(), _load()
    tmpdir = tempfile.mkdtemp(prefix="pyg-jit-shim-bench-")
    try:
        runner = Runner(tmpdir, timeout=600)
        collected = collect(configs, plan, runner)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    summary = summarise(collected["values"])
    meta = {
        "rounds": collected["rounds"], "quick": plan.quick, "plan": plan._asdict(),
        "total_s": time.perf_counter() - started, "load_start": load_start,
        "load_end": _load(), "cpus": os.cpu_count(), "only": list(plan.only),
        "classes": plan.classes,
        "machine": f"{platform.machine()} {platform.system()}", "driver": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "order": [list(round_order(index))
                                                                for index in range(2)],
    }
    text = report(configs, collected, summary, runner.records, meta)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.md").write_text(text, encoding="utf-8")
    raw = {"meta": meta, "configs": {key: config._asdict() for key, config in configs.items()},
           "info": collected["info"], "warnings": collected["warnings"],
           "values": collected["values"], "summary": summary, "records": runner.records}
    (args.output / "latest.json").write_text(json.dumps(raw, indent=1) + "\n",
                                             encoding="utf-8")
    _progress(f"wrote {args.output / 'latest.md'} and latest.json "
              f"({meta['total_s']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
