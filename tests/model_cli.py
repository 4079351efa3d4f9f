"""``check --model`` as a service owner runs it: the console script, in a
working directory that holds the service's own ``service_model.py`` (a copy
of tests/layers/service_model.py) and whatever it saved there."""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from tests.helpers import REPO, TIMEOUT, environment, run_python

CONSOLE = str(Path(sys.executable).with_name("pyg-jit-shim"))
MODEL_SOURCE = REPO / "tests" / "layers" / "service_model.py"


class Service:
    """A working directory with the model's module, an empty temp dir and an
    empty home (PyG's home follows it), torch's own cache kept elsewhere."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.work = root / "service"
        self.work.mkdir()
        shutil.copy(MODEL_SOURCE, self.work / "service_model.py")
        overrides = {}
        for key, name in (("TMPDIR", "tmp"), ("HOME", "home"),
                          ("TORCHINDUCTOR_CACHE_DIR", "torch-cache")):
            (root / name).mkdir()
            overrides[key] = str(root / name)
        self.env = environment(PYG_HOME=None, **overrides)
        self.own: List[str] = []

    def save(self, inputs: bool = True, model: Optional[str] = None) -> None:
        """``inputs.pt`` and, as a service does after training, ``torch.save``
        of ``service_model.<model>()`` to ``model.pt``; the shim imported first.
        Where PyG generates (2.5.3 on), training leaves its files in a temp dir
        of its own, not the one the check is held to."""
        code = "import pyg_jit_shim, torch, service_model\n"
        if inputs:
            code += "service_model.save_inputs('inputs.pt')\n"
        if model is not None:
            code += f"torch.save(service_model.{model}(), 'model.pt')\n"
        training = self.root / "training-tmp"
        training.mkdir(exist_ok=True)
        run_python(code, env=dict(self.env, TMPDIR=str(training)), cwd=self.work)
        self.own = sorted(path.name for path in self.work.iterdir())

    def check(self, *args: str, **switches: str) -> subprocess.CompletedProcess:
        env = dict(self.env, **switches)
        return subprocess.run([CONSOLE, "check", *args], cwd=str(self.work), env=env,
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)

    def left(self) -> List[str]:
        """Every file or directory left in the temp dir, the home and the
        working directory, but what the service put there itself."""
        found = [str(path) for key in ("TMPDIR", "HOME") for path in Path(self.env[key]).rglob("*")]
        found += [str(path) for path in self.work.iterdir()
                  if path.name not in self.own and path.name != "service_model.py"]
        return sorted(found)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def to_closed_pipe(args: Sequence[str], cwd: Path, env: Dict[str, str]
                   ) -> subprocess.CompletedProcess:
    """The console script with a reader that went away before it wrote anything."""
    process = subprocess.Popen([CONSOLE, *args], cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
