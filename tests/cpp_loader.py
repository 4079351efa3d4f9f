"""Builds and runs tests/cpp/load_archive, the C++ program that loads a TorchScript
archive with libtorch alone, as a C++ service does.

The archive is one of ``torch.jit.save`` or ``pyg_jit_shim.save`` with an extra
file (default ``conformance.pt``) holding the bytes of
``torch.save({"args": args, "expected": expected}, buffer)``: ``args`` a tuple of
tensors, ``expected`` a tensor or a tuple of tensors. torch.save's default zip
format is what ``torch::jit::pickle_load`` reads, so nothing else is needed.
The program prints one JSON line: ``{"status": "ok" | "load-failed" |
"run-failed" | "mismatch", "detail": str, "max_abs_diff": float | None}``.
"""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

SOURCE = Path(__file__).resolve().parent / "cpp"
EXECUTABLE = "load_archive"
EXTRA = "conformance.pt"
# One compile against torch/script.h: ~25 s on a shared two-core machine.
BUILD_TIMEOUT = 900
RUN_TIMEOUT = 120
# Enough of cmake's or the compiler's output to show the first error.
TAIL_LINES = 40


class BuildError(RuntimeError):
    pass


def _compiler() -> Optional[str]:
    for name in (os.environ.get("CXX", ""), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def tools_missing() -> Optional[str]:
    """What building the loader lacks (``cmake``, a C++ compiler, a CPU build of
    torch), or None."""
    import torch

    missing = [what for what, found in (("cmake", shutil.which("cmake")),
                                        ("a C++ compiler (c++, g++ or clang++)", _compiler()))
               if not found]
    if torch.version.cuda is not None:
        # The cmake config of a CUDA build requires the matching CUDA toolkit.
        missing.append(f"a CPU build of torch (this {torch.__version__} is built for "
                       f"CUDA {torch.version.cuda}, whose cmake config needs that toolkit)")
    return " and ".join(missing) if missing else None


def _tail(result: subprocess.CompletedProcess) -> str:
    lines = (result.stdout + result.stderr).splitlines()
    return "\n".join(lines[-TAIL_LINES:])


def _step(command: Sequence[str], what: str) -> None:
    try:
        result = subprocess.run(list(command), capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{what} took over {BUILD_TIMEOUT} s: {' '.join(command)}") from exc
    if result.returncode != 0:
        raise BuildError(f"{what} failed ({result.returncode}): {' '.join(command)}\n"
                         f"{_tail(result)}")


def build_loader(build_dir: Path) -> Path:
    """Configures and builds the loader in ``build_dir`` against the libtorch of
    this interpreter's torch wheel; returns the executable. Raises BuildError
    with the last lines cmake or the compiler wrote."""
    import torch.utils

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    configure: List[str] = [
        "cmake", "-S", str(SOURCE), "-B", str(build_dir),
        # Parsing libtorch's headers is nearly all of the ~25 s compile: -O0
        # or -O1 instead of Release's -O3 saves nothing measurable.
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
    ]
    compiler = _compiler()
    if compiler is not None:
        configure.append(f"-DCMAKE_CXX_COMPILER={shutil.which(compiler)}")
    _step(configure, "cmake configure")
    _step(["cmake", "--build", str(build_dir), "--config", "Release", "-j2"], "cmake build")
    executable = build_dir / EXECUTABLE
    if not executable.is_file():
        raise BuildError(f"cmake built no {executable}")
    return executable


def run_loader(executable: Path, archive: Path, extra: str = EXTRA) -> Dict[str, Any]:
    """Runs the loader on ``archive``: its JSON line plus ``"returncode"``."""
    result = subprocess.run([str(executable), str(archive), extra], capture_output=True,
                            text=True, timeout=RUN_TIMEOUT, check=False)
    lines = result.stdout.strip().splitlines()
    try:
        parsed: Dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError) as exc:
        raise AssertionError(f"load_archive wrote no JSON line (exit {result.returncode}):\n"
                             f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}") from exc
    parsed["returncode"] = result.returncode
    return parsed


def conformance_data(args: Tuple[Any, ...], expected: Any) -> bytes:
    """The extra file's bytes: ``args`` and ``expected`` as the loader reads them."""
    import torch

    buffer = io.BytesIO()
    torch.save({"args": tuple(args), "expected": expected}, buffer)
    return buffer.getvalue()


if __name__ == "__main__":  # python tests/cpp_loader.py BUILD_DIR: a build by hand
    print(build_loader(Path(sys.argv[1])))
