"""What the tests share: the installed release, subprocesses, small graphs."""

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

REPO = Path(__file__).resolve().parent.parent
AFFECTED = ("2.5.0", "2.5.1", "2.5.2")
PYG = metadata.version("torch_geometric")
IS_AFFECTED = PYG in AFFECTED

# Subprocesses import torch and PyG: several seconds each on a small machine.
TIMEOUT = 600


def environment(**overrides: Optional[str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYG_JIT_SHIM")}
    # The test layers live in tests/layers; the shim itself comes from where
    # it is installed, as in a service.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code: str, env: Optional[Mapping[str, str]] = None,
               cwd: Optional[Path] = None, check: bool = True,
               args: Sequence[str] = (), timeout: float = TIMEOUT
               ) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter with ``sys.argv[1:]`` = ``args``;
    its last stdout line may be JSON."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        check=False, env=dict(env) if env is not None else environment(),
        cwd=str(cwd or REPO), capture_output=True, text=True, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


def run_script(code: str, directory: Path, env: Optional[Mapping[str, str]] = None,
               timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Runs ``code`` as the main script from a file in ``directory``: classes it
    defines have source that inspect (and so PyG and TorchScript) can read,
    unlike those of ``python -c``."""
    script = directory / "main_script.py"
    script.write_text(textwrap.dedent(code))
    return run_python("import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')",
                      env=env, cwd=directory, args=[str(script)], timeout=timeout)


def last_json(result: subprocess.CompletedProcess) -> Any:
    return json.loads(result.stdout.strip().splitlines()[-1])


def graph(nodes: int = 6, channels: int = 8, seed: int = 0) -> Tuple[Any, Any]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(nodes, channels, generator=generator)
    source = torch.arange(nodes)
    edge_index = torch.stack([
        torch.cat([source, source]),
        torch.cat([(source + 1) % nodes, (source + 2) % nodes]),
    ])
    return x, edge_index


def scripted_matches(module: Any, *inputs: Any) -> float:
    """Scripts ``module``; returns the largest difference to eager on ``inputs``."""
    import torch

    module.eval()
    scripted = torch.jit.script(module)
    with torch.no_grad():
        return float((scripted(*inputs) - module(*inputs)).abs().max())


def generated_sources(cls: type) -> Dict[str, str]:
    """The source of the modules generated for ``cls``: kind -> source."""
    import inspect

    return {kind: inspect.getsource(sys.modules[vars(cls)[kind].__module__])
            for kind in ("propagate", "edge_updater") if kind in vars(cls)}


def save_all(conformance: Any, names: Iterable[str], directory: Union[str, Path]
             ) -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
    """``conformance.save_scripted`` for each case: (name -> file, or None where
    the case does not script; name -> what torch.jit.save raised)."""
    saved: Dict[str, Optional[str]] = {}
    failed: Dict[str, str] = {}
    for name in names:
        try:
            path = conformance.save_scripted(name, directory)
        except RuntimeError as exc:
            failed[name] = str(exc)
        else:
            saved[name] = None if path is None else str(path)
    return saved, failed


# A fresh interpreter in which PyG, the shim and the tests are not installed,
# as on a serving host that has only torch: a meta path finder placed first
# refuses them. It loads conformance.py from its file (it imports only the
# standard library and torch) and runs check_saved() on every file.
BLOCKED = ("torch_geometric", "pyg_jit_shim", "tests")
LOAD_WITHOUT_PYG = """
import json, sys
from importlib import util

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
missing = []
for name in {blocked!r}:
    try:
        __import__(name)
    except ModuleNotFoundError:
        missing.append(name)
spec = util.spec_from_file_location("_loader", {table!r})
loader = util.module_from_spec(spec)
spec.loader.exec_module(loader)
results = [list(loader.check_saved(path)) for path in {paths!r}]
print(json.dumps([missing, sorted(m for m in sys.modules if m.partition(".")[0] in {blocked!r}),
                  results]))
"""


def load_without_pyg(table: str, paths: Sequence[str]) -> Tuple[List[str], List[str], List[Any]]:
    """Runs ``check_saved`` of ``table`` (conformance.py) on ``paths`` where PyG,
    the shim and the tests cannot be imported: (the blocked names that failed
    to import, blocked modules imported anyway, one Result as a list per path)."""
    code = LOAD_WITHOUT_PYG.format(blocked=BLOCKED, table=str(table), paths=list(paths))
    missing, imported, results = last_json(run_python(code))
    return missing, imported, results
