"""``check --model`` on every release: what cannot be checked is one line on
stderr and exit status 2; a reader that goes away ends it with 141."""

from pathlib import Path

import pyg_jit_shim
from tests.cli import into_head
from tests.helpers import PYG
from tests.model_cli import CONSOLE, Service, one_line_error, to_closed_pipe

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
