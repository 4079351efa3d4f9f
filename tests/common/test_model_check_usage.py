"""``check --model`` on a repaired and an untouched release: what cannot be checked is one line on
stderr and exit status 2; a reader that goes away ends it with 141."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pyg_jit_shim
from tests.cli import into_head
from tests.helpers import PYG, TIMEOUT
from tests.model_cli import CONSOLE, Service, one_line_error, to_closed_pipe

# The command's own logic: on a repaired and an untouched release (CI time).
pytestmark = pytest.mark.only_on("2.5.2", "2.8.1")

CLOSED_PIPE = 141


def test_what_cannot_be_checked_is_named(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.save(inputs=True)
    # Told apart before torch is imported.
    early = {
        ("--inputs", "inputs.pt"): "--inputs needs --model",
        ("--model", "no-such-file.pt"): "no file 'no-such-file.pt', and not MODULE:CALLABLE",
        ("--model", "a-b:c"): "expected MODULE:NAME, e.g. models:build, got 'a-b:c'",
        ("--model", "service_model:build", "--inputs", "missing.pt"):
            "no file 'missing.pt' for --inputs",
    }
    for args, message in early.items():
        result = service.check(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in one_line_error(result), args
        assert result.stdout == ""
    # Told after torch is imported: the versions are printed first.
    late = {
        "no_such_module_xyz:build": (
            f"cannot import 'no_such_module_xyz': no module 'no_such_module_xyz' in the "
            f"working directory {service.work} or on the Python path"),
        "service_model:missing": (
            f"'service_model' ({service.work / 'service_model.py'}) has no 'missing'"),
        "inputs.pt": "inputs.pt gives an object of type tuple, not a torch.nn.Module",
    }
    for target, message in late.items():
        result = service.check("--model", target)
        assert result.returncode == 2, (target, result.stderr)
        assert one_line_error(result) == f"pyg-jit-shim: {message}"
        assert result.stdout.startswith(f"pyg-jit-shim {pyg_jit_shim.__version__}: Python ")
    assert service.left() == []


def test_closed_pipes_end_quietly_with_141(tmp_path: Path) -> None:
    service = Service(tmp_path)
    # --json: nobody reads, so it stops before importing torch.
    result = to_closed_pipe(["check", "--model", "service_model:build", "--json"],
                            service.work, service.env)
    assert result.returncode == CLOSED_PIPE, result.stderr
    assert result.stderr == ""
    # `check --model ... | head -n1`: the versions come at once, then it stops.
    first, returncode, stderr = into_head([CONSOLE, "check", "--model", "service_model:build"],
                                          service.work, service.env)
    assert returncode == CLOSED_PIPE, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
    assert first.rstrip("\n").endswith(f", torch_geometric {PYG}")
    assert service.left() == []


# A service's training script, as a new user writes it: the model's class in
# the script itself. A spawned worker saves one too: there the script runs as
# __mp_main__. And an instance of a class that has been renamed since.
SAVE_IT = """
import multiprocessing
import torch
import models


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.lin(x)


def save_in_worker():
    torch.save(Net(), "worker.pt")


if __name__ == "__main__":
    torch.save(Net(), "model.pt")
    worker = multiprocessing.get_context("spawn").Process(target=save_in_worker)
    worker.start()
    worker.join()
    assert worker.exitcode == 0
    torch.save(models.Old(), "renamed.pt")
"""
MODELS = """
import torch


class Old(torch.nn.Linear):
    def __init__(self):
        super().__init__(2, 2)
"""


def test_a_class_of_the_saving_script_is_named_with_what_to_do(tmp_path: Path) -> None:
    service = Service(tmp_path)
    (service.work / "models.py").write_text(MODELS)
    (service.work / "save_it.py").write_text(SAVE_IT)
    saved = subprocess.run([sys.executable, "save_it.py"], cwd=str(service.work),
                           env=service.env, capture_output=True, text=True, timeout=TIMEOUT,
                           check=False)
    assert saved.returncode == 0, saved.stderr
    (service.work / "models.py").write_text(MODELS.replace("class Old", "class New"))
    service.own = sorted(path.name for path in service.work.iterdir())
    advice = ("which no other program has; define the class in an importable module (and "
              "save again), or give --model MODULE:CALLABLE, a function that builds the model")
    expected = ("pyg-jit-shim: cannot load model.pt: the pickle refers to __main__.Net, a class "
                "of the program that saved it, " + advice)
    # The shim's own __main__ under python -m, the console script's under it:
    # neither is named, both are told apart from the program that saved it.
    as_module = subprocess.run(
        [sys.executable, "-m", "pyg_jit_shim", "check", "--model", "model.pt"],
        cwd=str(service.work), env=service.env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False)
    for result in (as_module, service.check("--model", "model.pt")):
        assert result.returncode == 2, result.stderr
        assert one_line_error(result) == expected
        assert result.stdout.startswith(f"pyg-jit-shim {pyg_jit_shim.__version__}: Python ")
    # Pickled as __mp_main__.Net, which is __main__ wherever multiprocessing
    # is imported (torch imports it).
    worker = service.check("--model", "worker.pt", "--json")
    assert worker.returncode == 2, worker.stderr
    assert one_line_error(worker) == expected.replace("model.pt", "worker.pt")
    # A class missing from an importable module is not the saving program's:
    # the error is told as it is.
    renamed = service.check("--model", "renamed.pt", "--json")
    assert renamed.returncode == 2, renamed.stderr
    assert one_line_error(renamed) == (
        f"pyg-jit-shim: cannot load renamed.pt: AttributeError: Can't get attribute 'Old' on "
        f"<module 'models' from '{service.work / 'models.py'}'>")
    assert service.left() == []


def test_a_long_message_is_cut_at_a_word_with_a_mark(tmp_path: Path) -> None:
    service = Service(tmp_path)
    words = [f"layer{index:03d}" for index in range(60)]
    (service.work / "long_error.py").write_text(textwrap.dedent(f"""
        def build():
            raise ValueError("cannot build: " + {" ".join(words)!r})
    """))
    service.own = sorted(path.name for path in service.work.iterdir())
    result = service.check("--model", "long_error:build")
    assert result.returncode == 2, result.stderr
    # The error's own text is cut after the last whole word that fits in 300
    # characters, and says so.
    kept = " ".join(words[:30])
    assert one_line_error(result) == (
        f"pyg-jit-shim: long_error:build() raised ValueError: cannot build: {kept}...")
    assert service.left() == []
