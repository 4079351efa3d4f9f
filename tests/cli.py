"""Running the command line as a user does: ``python -m pyg_jit_shim ...``."""

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from tests.helpers import REPO, TIMEOUT, environment


def cli(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyg_jit_shim", *args], cwd=str(REPO),
                          env=env or environment(), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def _empty_dirs(root: Path) -> Dict[str, str]:
    """A temp dir and a home dir with nothing in them, PyG's home left to follow
    HOME, and torch's own cache (which any import of PyG creates on torch 2.x,
    check or not) kept elsewhere."""
    overrides = {}
    for key, name in (("TMPDIR", "tmp"), ("HOME", "home"),
                      ("TORCHINDUCTOR_CACHE_DIR", "torch-cache")):
        (root / name).mkdir()
        overrides[key] = str(root / name)
    return overrides


def checked(root: Path, *args: str, **switches: str
            ) -> Tuple[subprocess.CompletedProcess, List[str]]:
    """``check *args`` with an empty temp dir and home under ``root``: the
    result, and every file or directory left in either."""
    env = environment(PYG_HOME=None, **switches, **_empty_dirs(root))
    result = cli("check", *args, env=env)
    left = sorted(str(path) for key in ("TMPDIR", "HOME") for path in Path(env[key]).rglob("*"))
    return result, left
