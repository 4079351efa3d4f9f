"""Which ways of shipping a model work, per PyG release: save in one fresh
process, load (and script) in another.

``nox -s shipping`` builds the four environments below and runs it. By hand,
from the root of a checkout (one column per ``--python``, given as
``LABEL=[VAR=VALUE ...] INTERPRETER``)::

    PYTHONPATH=shim python benchmarks/shipping.py \\
        --python "PyG 2.5.2 alone=PYG_JIT_SHIM=off /path/venv-2.5.2/bin/python" \\
        --python "PyG 2.5.2 + shim=/path/venv-2.5.2/bin/python" \\
        --python "PyG 2.5.3=/path/venv-2.5.3/bin/python" \\
        --python "PyG 2.6.1=/path/venv-2.6.1/bin/python" [--formats a,b,c,d,e] \\
        [--cpp BUILD_DIR] [--json FILE]

Without ``--python`` it runs one column with this interpreter. The children get
this process's environment (so ``PYTHONPATH=shim`` gives them the shim of the
checkout) plus the column's ``VAR=VALUE``; each imports ``pyg_jit_shim``
first where it can be imported, as a service that pins it does (a no-op on
releases it leaves alone), and the table says what the shim did.

The model is ``shipping_model.py`` (GCNConv, GATConv, a layer of its own, and
the same inside a ``Sequential``), importable by both processes. Formats:

  a  ``state_dict()`` saved; the serving process rebuilds the model from code,
     ``load_state_dict``, runs it, then ``torch.jit.script`` (model with a
     ``Sequential`` inside)
  b  ``torch.save(model)``; ``torch.load(weights_only=False)``, run, script
  c  as b, the model with a ``Sequential`` inside
  d  ``torch.jit.save(torch.jit.script(model))``; ``torch.jit.load``, run
  e  ``pyg_jit_shim.save(torch.jit.script(model))``; ``torch.jit.load``, run

The archives (d, e) are loaded in a process that imports neither PyG nor the
shim, as a service that serves only the archive. With ``--cpp BUILD_DIR`` the
C++ program of ``tests/cpp`` is built there against this interpreter's torch
and loads them too (``torch::jit::load``, libtorch only), on inputs and
outputs stored in the archive: a row "in C++" after each.

One process saves every format; each format loads in a fresh process of its
own, as a serving host would (a class built by one format's loading would
otherwise help the next). Each run is compared with the saving process's
output. A cell reads ``ok``, or the step that failed (``saving, ...`` where
the saving process failed) and its error's first line. Output: a Markdown
table on stdout (cells cut at 90 characters; ``--json`` has them whole).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

HERE = Path(__file__).resolve()
TIMEOUT = 600
TOLERANCE = 1e-5


class Format(NamedTuple):
    title: str
    model: str  # class in shipping_model
    steps: Tuple[str, ...]  # in the serving process


FORMATS: Dict[str, Format] = {
    "a": Format("state_dict, model rebuilt from code (with a Sequential)", "SequentialNet",
                ("rebuild", "eager", "script")),
    "b": Format("`torch.save(model)`", "Net", ("load", "eager", "script")),
    "c": Format("`torch.save(model)`, a `Sequential` inside", "SequentialNet",
                ("load", "eager", "script")),
    "d": Format("`torch.jit.save(torch.jit.script(model))`", "Net", ("jit.load", "run")),
    "e": Format("`pyg_jit_shim.save(torch.jit.script(model))`", "Net", ("jit.load", "run")),
}
ARCHIVES = ("d", "e")
EXTRA = "conformance.pt"  # tests/cpp_loader.EXTRA: inputs and output, for C++


class Column(NamedTuple):
    label: str
    command: List[str]
    env: Dict[str, str]


# -- in the children ---------------------------------------------------------------

def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _import_shim() -> str:
    try:
        import pyg_jit_shim  # noqa: F401  (first, as in a service)
    except ImportError:
        return "absent"
    return "imported"


def _shim_verdict(imported: str) -> str:
    if imported == "absent":
        return "not installed"
    import pyg_jit_shim

    return str(pyg_jit_shim.status().verdict)


def _compare(output: Any, reference: Any) -> None:
    difference = float((output - reference).abs().max())
    if not difference <= TOLERANCE:
        raise AssertionError(f"output differs from the saved model's by {difference:.3g}")


def child_save(directory: Path, formats: Sequence[str]) -> Dict[str, Any]:
    imported = _import_shim()
    import shipping_model
    import torch
    import torch_geometric

    x, edge_index = shipping_model.inputs()
    saved: Dict[str, Optional[str]] = {}
    # Scripted once per model: a second torch.jit.script of a class whose first
    # one failed fails for another reason ("Can't redefine method").
    scripts: Dict[str, Any] = {}
    for key in formats:
        fmt = FORMATS[key]
        torch.manual_seed(0)
        model = getattr(shipping_model, fmt.model)().eval()
        with torch.no_grad():
            torch.save(model(x, edge_index), directory / f"{key}.expected.pt")
        path = directory / f"{key}.pt"
        step = "save"
        try:
            if key == "a":
                torch.save(model.state_dict(), path)
            elif key in ARCHIVES:
                step = "script"
                if fmt.model not in scripts:
                    try:
                        scripts[fmt.model] = torch.jit.script(model)
                    except Exception as error:
                        scripts[fmt.model] = error
                if isinstance(scripts[fmt.model], Exception):
                    raise scripts[fmt.model]
                scripted = scripts[fmt.model]
                buffer = io.BytesIO()
                with torch.no_grad():
                    torch.save({"args": (x, edge_index), "expected": model(x, edge_index)},
                               buffer)
                extra = {EXTRA: buffer.getvalue()}
                if key == "d":
                    step = "jit.save"
                    torch.jit.save(scripted, str(path), _extra_files=extra)
                else:
                    step = "pyg_jit_shim.save"
                    if imported == "absent":
                        raise RuntimeError("pyg_jit_shim is not installed")
                    import pyg_jit_shim

                    pyg_jit_shim.save(scripted, str(path), _extra_files=extra)
            else:
                torch.save(model, path)
        except Exception as error:
            saved[key] = f"saving, {step}: {first_line(error)}"
        else:
            saved[key] = None
    return {"pyg": torch_geometric.__version__, "torch": torch.__version__,
            "shim": _shim_verdict(imported), "saved": saved}


def child_load(directory: Path, key: str) -> Dict[str, Any]:
    if key in ARCHIVES:
        return _load_archive(directory, key)
    imported = _import_shim()
    import shipping_model
    import torch
    import torch_geometric  # noqa: F401

    fmt = FORMATS[key]
    x, edge_index = shipping_model.inputs()
    expected = torch.load(directory / f"{key}.expected.pt")
    path = directory / f"{key}.pt"
    done: List[str] = []
    step = fmt.steps[0]
    try:
        if key == "a":
            model = getattr(shipping_model, fmt.model)()
            model.load_state_dict(torch.load(path))
        else:
            model = torch.load(path, weights_only=False)
        model.eval()
        done.append(step)
        step = fmt.steps[1]
        with torch.no_grad():
            _compare(model(x, edge_index), expected)
        done.append(step)
        if "script" in fmt.steps:
            step = "script"
            scripted = torch.jit.script(model)
            with torch.no_grad():
                _compare(scripted(x, edge_index), expected)
            done.append(step)
        failure = None
    except Exception as error:
        failure = f"{step}: {first_line(error)}"
    return {"shim": _shim_verdict(imported), "done": done, "failure": failure}


def _load_archive(directory: Path, key: str) -> Dict[str, Any]:
    """As a service that serves the archive alone: neither PyG nor the shim."""
    import torch

    step = "jit.load"
    try:
        extra = {EXTRA: ""}
        model = torch.jit.load(str(directory / f"{key}.pt"), _extra_files=extra)
        data = torch.load(io.BytesIO(extra[EXTRA]))  # type: ignore[arg-type]
        step = "run"
        with torch.no_grad():
            _compare(model(*data["args"]), data["expected"])
        imported = [name for name in ("torch_geometric", "pyg_jit_shim") if name in sys.modules]
        failure = f"run: imported {', '.join(imported)}" if imported else None
    except Exception as error:
        failure = f"{step}: {first_line(error)}"
    return {"shim": "not imported", "done": [], "failure": failure}


def _in_cpp(executable: Path, archive: Path) -> str:
    sys.path.insert(0, str(HERE.parents[1]))
    from tests.cpp_loader import run_loader

    outcome = run_loader(executable, archive, EXTRA)
    return "ok" if outcome["status"] == "ok" else f"{outcome['status']}: {outcome['detail']}"


# -- the driver --------------------------------------------------------------------

def parse_column(spec: str) -> Column:
    label, separator, rest = spec.partition("=")
    words = shlex.split(rest)
    env: Dict[str, str] = {}
    while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if not separator or not label.strip() or not words:
        raise argparse.ArgumentTypeError(
            f"{spec!r}: expected LABEL=[VAR=VALUE ...] INTERPRETER")
    return Column(label.strip(), words, env)


def _run_child(column: Column, args: Sequence[str]) -> Dict[str, Any]:
    env = dict(os.environ, **column.env)
    env.setdefault("PYTHONWARNINGS", "ignore")
    try:
        result = subprocess.run([*column.command, str(HERE), "--child", *args],
                                check=False, capture_output=True, text=True, env=env,
                                timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"crashed": f"no answer within {TIMEOUT} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode == 0 and lines:
        answer: Dict[str, Any] = json.loads(lines[-1])
        return answer
    errors = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return {"crashed": errors[-1] if errors else f"exit status {result.returncode}"}


def measure(column: Column, formats: Sequence[str], cpp: Optional[Path]) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shipping-") as directory:
        saved = _run_child(column, ["save", directory, ",".join(formats)])
        cells: Dict[str, str] = {}
        for key in formats:
            if "crashed" in saved:
                cells[key] = f"save: {saved['crashed']}"
            elif saved["saved"][key] is not None:
                cells[key] = saved["saved"][key]
            else:
                loaded = _run_child(column, ["load", directory, key])
                if "crashed" in loaded:
                    cells[key] = f"load: {loaded['crashed']}"
                else:
                    cells[key] = "ok" if loaded["failure"] is None else loaded["failure"]
                if cpp is not None and key in ARCHIVES:
                    cells[key + " C++"] = _in_cpp(cpp, Path(directory, f"{key}.pt"))
            if cpp is not None and key in ARCHIVES:
                cells.setdefault(key + " C++", cells[key])  # not saved: nothing to load
    return {"label": column.label, "pyg": saved.get("pyg"), "torch": saved.get("torch"),
            "shim": saved.get("shim"), "cells": cells}


def _cell(text: str, width: int = 90) -> str:
    text = text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def table(results: Sequence[Dict[str, Any]], formats: Sequence[str]) -> str:
    header = ["format (steps in the serving process)"] + [r["label"] for r in results]
    rows = [header, ["---"] * len(header),
            ["PyG / torch / shim"] + [f"{r['pyg']} / {r['torch']} / {r['shim']}"
                                      for r in results]]
    for key in formats:
        fmt = FORMATS[key]
        title = f"({key}) {fmt.title}: {' → '.join(fmt.steps)}"
        rows.append([title] + [_cell(r["cells"][key]) for r in results])
        if key + " C++" in results[0]["cells"]:
            rows.append([f"({key}) in C++: torch::jit::load, run"]
                        + [_cell(r["cells"][key + " C++"]) for r in results])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", type=parse_column, default=[],
                        metavar="LABEL=[VAR=VALUE ...] INTERPRETER")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--cpp", type=Path, metavar="BUILD_DIR",
                        help="build tests/cpp there and load the archives in C++ too")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, directory, what = args.child
        if mode == "save":
            answer = child_save(Path(directory), what.split(","))
        else:
            answer = child_load(Path(directory), what)
        print(json.dumps(answer))
        return 0
    formats = [key.strip() for key in args.formats.split(",") if key.strip()]
    unknown = [key for key in formats if key not in FORMATS]
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    columns = args.python or [Column("this interpreter", [sys.executable], {})]
    cpp = None
    if args.cpp is not None:
        sys.path.insert(0, str(HERE.parents[1]))
        from tests.cpp_loader import build_loader

        cpp = build_loader(args.cpp)
    results = []
    for column in columns:
        print(f"measuring {column.label} ...", file=sys.stderr)
        results.append(measure(column, formats, cpp))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results, formats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
