"""Running the command line as a user does: ``python -m pyg_jit_shim ...``."""

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from tests.helpers import REPO, TIMEOUT, environment


def cli(*args: str, env: Optional[Dict[str, str]] = None,
        terminal: bool = False) -> subprocess.CompletedProcess:
    """The command's result; with ``terminal``, its standard error is a
    terminal (a pseudo-terminal read here), as when a person runs it."""
    if not terminal:
        return subprocess.run([sys.executable, "-m", "pyg_jit_shim", *args], cwd=str(REPO),
                              env=env or environment(), capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    reader, writer = os.openpty()
    seen: List[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # Linux: EIO once the last writer has closed it
                return
            if not chunk:
                return
            seen.append(chunk)

    thread = threading.Thread(target=read, daemon=True)
    try:
        with subprocess.Popen([sys.executable, "-m", "pyg_jit_shim", *args], cwd=str(REPO),
                              env=env or environment(), stdout=subprocess.PIPE, stderr=writer,
                              text=True) as process:
            os.close(writer)
            writer = -1
            thread.start()
            stdout, _ = process.communicate(timeout=TIMEOUT)
        thread.join(TIMEOUT)
    finally:
        for fd in (reader, writer):
            if fd >= 0:
                os.close(fd)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout,
                                       b"".join(seen).decode(errors="replace"))


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


def checked(root: Path, *args: str, terminal: bool = False, **switches: str
            ) -> Tuple[subprocess.CompletedProcess, List[str]]:
    """``check *args`` with an empty temp dir and home under ``root``: the
    result, and every file or directory left in either."""
    env = environment(PYG_HOME=None, **switches, **_empty_dirs(root))
    result = cli("check", *args, env=env, terminal=terminal)
    left = sorted(str(path) for key in ("TMPDIR", "HOME") for path in Path(env[key]).rglob("*"))
    return result, left


def into_head(command: List[str], cwd: Path, env: Dict[str, str]) -> Tuple[str, int, str]:
    """``command | head -n1``: (the line head printed, the command's exit
    status, its standard error)."""
    process = subprocess.Popen(command, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    head = subprocess.Popen(["head", "-n1"], stdin=process.stdout, stdout=subprocess.PIPE,
                            text=True)
    assert process.stdout is not None
    process.stdout.close()  # head is its only reader
    first, _ = head.communicate(timeout=TIMEOUT)
    _, stderr = process.communicate(timeout=TIMEOUT)
    return first, process.returncode, stderr
