"""Test sessions: one per PyG release, real wheels from the package index.

    nox                     # lint, Python 3.8, and the tests on every release
    nox -s "tests(pyg='2.5.2')"
    nox -s build              # the sdist and the wheel in dist/, checked and installed
    nox -s benchmark          # ratios against PyG 2.5.3, never a pass/fail on time
    nox -s shipping           # which artefact formats ship a model, per release
    nox -s stress             # random schedules of forks, signals, toggling and builds
"""

import glob
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import List, Optional

import nox

nox.options.sessions = ["lint", "py38", "build", "tests"]
nox.options.reuse_existing_virtualenvs = False
# Without Python 3.11 nothing would be tested: fail rather than skip. Python 3.8
# is handled by its session (skipped with a note, failed on CI).
nox.options.error_on_missing_interpreters = True

# The affected releases, the fixed reference, the era before the generator,
# and the releases a service upgrades to.
RELEASES = ["2.4.0", "2.5.0", "2.5.1", "2.5.2", "2.5.3", "2.6.1", "2.7.0", "2.8.1"]
# From PyPI on Linux this is a multi-GB CUDA build. pip reads PIP_INDEX_URL and
# PIP_EXTRA_INDEX_URL from the environment, and every pip run here inherits it
# (session.install, and the benchmark's reference venv: session.run passes the
# outer environment on), so PyTorch's CPU index set there is used throughout.
TORCH = "torch==2.13.0"
PYTHON = "3.11"


def _python(version: str) -> Optional[str]:
    """An interpreter for ``version``, also where pyenv has it but not on PATH."""
    pattern = os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")
    for candidate in [shutil.which("python" + version), *sorted(glob.glob(pattern))]:
        if candidate and subprocess.run([candidate, "--version"], check=False,
                                        capture_output=True).returncode == 0:
            return candidate
    return None


@nox.session(python=PYTHON)
@nox.parametrize("pyg", RELEASES)
def tests(session: nox.Session, pyg: str) -> None:
    # --no-compile: byte-compiling all of torch at install costs more than
    # compiling, once, the part the tests import. That needs bytecode writing
    # on, also where the machine turns it off: without .pyc files every fresh
    # interpreter compiles torch again (19 s instead of 7.5 s per import here).
    session.env["PYTHONDONTWRITEBYTECODE"] = ""
    session.install("--no-compile", TORCH, f"torch-geometric=={pyg}")
    session.install("--no-compile", ".", "pytest", "pytest-xdist")
    # Most tests wait on fresh interpreters importing torch: one worker per core.
    session.run("pytest", *(session.posargs or ["-q", "-p", "no:cacheprovider", "-n", "auto",
                                                "--durations=15"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    # mypy 1.14 is the last release that checks against Python 3.8; wrapt is
    # left out on purpose (its stubs describe Python >= 3.10 only).
    session.install("ruff==0.17.6", "mypy==1.14.1", "packaging")
    session.run("ruff", "check", "shim", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("mypy")


PYTHON38 = _python("3.8")


# venv, not virtualenv: current virtualenv no longer seeds Python 3.8. Without
# an interpreter the session runs in no environment, only to say why it skips.
@nox.session(python=PYTHON38 or False, venv_backend="venv")
def py38(session: nox.Session) -> None:
    """The oldest Python a legacy service may run: the package imports and detects."""
    if PYTHON38 is None:
        message = ("Python 3.8 is neither on PATH nor under ~/.pyenv/versions "
                   "(e.g. `pyenv install 3.8`)")
        if "CI" in os.environ:
            session.error(message)
        session.skip(message + "; the other sessions do not need it")
    # PyG's metadata without torch: enough for detection, which never imports it.
    session.install(".", "pytest")
    session.install("--no-deps", "torch-geometric==2.5.2")
    session.run("python", "-m", "compileall", "-q", "shim/pyg_jit_shim")
    session.run("pytest", "-q", "-p", "no:cacheprovider",
                "tests/common/test_settings.py", "tests/common/test_detect.py")



PACKAGE = Path("shim", "pyg_jit_shim")
WRAPT_LOWEST = "wrapt==1.14.0"  # setup.cfg: wrapt>=1.14


def _package_files() -> List[str]:
    """What the package is made of, as paths inside it: every file in the
    checkout's package folder but bytecode."""
    return sorted(path.relative_to(PACKAGE.parent).as_posix() for path in PACKAGE.rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts)


def _missing(found: List[str], prefix: str) -> List[str]:
    return [name for name in _package_files() if prefix + name not in found]


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """The release: sdist and wheel into dist/ with the standard front end,
    checked, then the wheel installed into a fresh venv beside PyG 2.5.2, where
    `pyg-jit-shim check` must pass."""
    session.env["PYTHONDONTWRITEBYTECODE"] = ""  # as in tests: torch compiled once
    session.install("build", "twine")
    dist = Path("dist")
    for old in dist.glob("pyg_jit_shim-*"):
        old.unlink()
    # The wheel is built from the sdist: a file missing from the sdist is
    # missing from the wheel too.
    session.run("python", "-m", "build", "--outdir", str(dist), ".")
    (wheel,) = dist.glob("pyg_jit_shim-*.whl")
    (sdist,) = dist.glob("pyg_jit_shim-*.tar.gz")
    session.run("twine", "check", "--strict", str(wheel), str(sdist))
    with zipfile.ZipFile(wheel) as archive:
        missing = _missing(archive.namelist(), "")
    with tarfile.open(sdist) as archive:
        root = sdist.name[:-len(".tar.gz")] + "/shim/"
        missing += _missing(archive.getnames(), root)
    if missing:
        session.error("not in the release: " + ", ".join(missing))
    session.log(f"{wheel} and {sdist} hold all {len(_package_files())} package files")
    # As a service installs it: the wheel by file, PyG and torch its own pins;
    # run outside the checkout, so that nothing is imported from it.
    target = os.path.abspath(os.path.join(session.create_tmp(), "service"))
    session.run("python", "-m", "venv", "--clear", target, silent=True)
    bin_dir = os.path.join(target, "bin")
    # wrapt at the lowest release setup.cfg admits; the tests sessions get the newest.
    session.run(os.path.join(bin_dir, "python"), "-m", "pip", "install", "-q", "--no-compile",
                TORCH, "torch-geometric==2.5.2", WRAPT_LOWEST, str(wheel.resolve()),
                external=True)
    with session.chdir(os.path.dirname(target)):
        session.run(os.path.join(bin_dir, "python"), "-c",
                    "import pyg_jit_shim, sys; "
                    f"sys.exit(not pyg_jit_shim.__file__.startswith({target!r}))",
                    external=True, env={"PYTHONPATH": ""})
        lowest = WRAPT_LOWEST.split("==")[1]
        session.run(os.path.join(bin_dir, "python"), "-c",
                    f"import wrapt, sys; sys.exit(wrapt.__version__ != {lowest!r})",
                    external=True, env={"PYTHONPATH": ""})
        session.run(os.path.join(bin_dir, "pyg-jit-shim"), "check", external=True,
                    env={"PYTHONPATH": ""})


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """PyG 2.5.2 scripting GCNConv without the shim, then with it."""
    session.install(TORCH, "torch-geometric==2.5.2", ".")
    session.run("python", "examples/demo.py", env={"PYG_JIT_SHIM": "off"})
    session.run("python", "examples/demo.py")


# The torch of the 2.5.x era, with the numpy it was built against. From the
# package index that is a CUDA build (about 2.8 GB of wheels, 5.2 GB installed),
# run on the CPU. Measured on a 2-core machine: install 7 min, tests 9 min; it
# found nothing the torch 2.13 sessions miss, so it is run by name, not in CI.
ERA = ["torch==2.2.2", "numpy<2"]


@nox.session(python=PYTHON)
def era(session: nox.Session) -> None:
    """PyG 2.5.2 on torch 2.2.2, then 2.5.3's recorded behaviour re-checked on it."""
    session.install(*ERA, "torch-geometric==2.5.2")
    session.install(".", "pytest")
    session.run("pytest", *(session.posargs or ["-q", "-p", "no:cacheprovider"]))
    # The affected tests hold 2.5.2 to a recording made with a current torch:
    # confirm that 2.5.3 itself behaves so on this torch too.
    session.install("torch-geometric==2.5.3")
    session.run("python", "tests/record_expected.py", "--check")


@nox.session(python=PYTHON)
def benchmark(session: nox.Session) -> None:
    """PyG 2.5.2 + shim against PyG 2.5.3, side by side; `-- --quick` for a smoke run,
    `-- --only factory` (or import-shim, layers) for some measurements only. Then
    toggling under load, archives per call, and copies against PyG 2.5.2 alone."""
    # This venv: PyG 2.5.2 and the shim ("no shim" is this venv with PYG_JIT_SHIM=off).
    session.install(TORCH, "torch-geometric==2.5.2", ".")
    # The reference: PyG 2.5.3, with the shim installed too (a no-op there).
    reference = os.path.join(session.create_tmp(), "ref-2.5.3")
    session.run("python", "-m", "venv", "--clear", reference)
    reference_python = os.path.join(reference, "bin", "python")
    session.run(reference_python, "-m", "pip", "install", "-q", TORCH,
                "torch-geometric==2.5.3", ".", external=True)
    session.run("python", "benchmarks/run.py",
                "--python-shim", os.path.join(session.bin, "python"),
                "--python-ref", reference_python, *session.posargs)
    session.run("python", "benchmarks/toggle.py")
    session.run("python", "benchmarks/archives.py")  # pyg_jit_shim.save's archives per call
    session.run("python", "benchmarks/copies.py")  # copies of a Sequential, against PyG alone


@nox.session(python=PYTHON)
@nox.parametrize("pyg", ["2.5.0", "2.5.2"])
def stress(session: nox.Session, pyg: str) -> None:
    """More seeds of tests/stress.py than CI runs: `-- --seeds 100 --first 1000`."""
    session.env["PYTHONDONTWRITEBYTECODE"] = ""
    session.install("--no-compile", TORCH, f"torch-geometric=={pyg}", ".")
    session.run("python", "-m", "tests.stress", *(session.posargs or ["--seeds", "50"]))


@nox.session(python=PYTHON)
def shipping(session: nox.Session) -> None:
    """docs/shipping.md's table: each artefact format saved in one fresh process
    and loaded in another (the archives in C++ too), on PyG 2.5.2 alone, with
    the shim, 2.5.3 and 2.6.1 (the shim installed everywhere: it leaves the
    others alone)."""
    session.env["PYTHONDONTWRITEBYTECODE"] = ""
    session.install("--no-compile", TORCH, "torch-geometric==2.5.2", ".")
    columns = [f"PyG 2.5.2 alone=PYG_JIT_SHIM=off {session.bin}/python",
               f"PyG 2.5.2 + shim={session.bin}/python"]
    for release in ("2.5.3", "2.6.1"):
        venv = os.path.join(session.create_tmp(), f"pyg-{release}")
        session.run("python", "-m", "venv", "--clear", venv)
        python = os.path.join(venv, "bin", "python")
        session.run(python, "-m", "pip", "install", "-q", "--no-compile", TORCH,
                    f"torch-geometric=={release}", ".", external=True)
        columns.append(f"PyG {release}={python}")
    # The archives in C++ too: the loader of tests/cpp, built against this torch.
    session.run("python", "benchmarks/shipping.py", "--cpp",
                os.path.join(session.create_tmp(), "cpp"),
                *(arg for column in columns for arg in ("--python", column)), *session.posargs)
