"""What the tests share: the installed release, subprocesses, small graphs."""

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

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
               cwd: Optional[Path] = None, check: bool = True) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter; its last stdout line may be JSON."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False, env=dict(env) if env is not None else environment(),
        cwd=str(cwd or REPO), capture_output=True, text=True, timeout=TIMEOUT,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result


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
