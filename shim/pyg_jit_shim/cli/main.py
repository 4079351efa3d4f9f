"""``pyg-jit-shim`` / ``python -m pyg_jit_shim``: check, show, run."""

import argparse
import sys
from typing import List, NoReturn, Optional

from .pipes import CLOSED_PIPE, silence_stdout

USAGE_ERROR = 2

CHECK_DESCRIPTION = """\
Without --model: the versions, what the shim did, and a self-test of every PyG
conv layer. With --model: the service's own model as a serving process meets it,
loaded or built after the shim, in eval mode; scripted; compared with eager on
--inputs; torch.jit.save-d, then torch.jit.load-ed in a fresh interpreter. The
same for each MessagePassing and Sequential inside it, and, where the shim
repairs the release, all of it again with PYG_JIT_SHIM=off, to name what needed
the shim.
"""
CHECK_EPILOG = """\
exit status:
  0    fine (--model: the model scripts, and equals eager on --inputs)
  1    a finding: without --model, a layer that PyG 2.5.3 scripts does not script here;
       with --model, the model does not load where it was not built, does not script,
       a scripted module (or one after torch.jit.save and load) computes something else
       than eager, or a step works only without the shim
  2    cannot check: usage, torch or PyG missing, the model or --inputs cannot be
       loaded, MODULE:CALLABLE not found or raising, or the model raises on --inputs
  141  standard output was closed early (check | head): the check stops quietly

torch.jit.save then torch.jit.load failing is reported, not a finding: GCNConv and
others fail so on every PyG release; script in the serving process instead.
Nothing is left on disk: files go to a private temporary directory, removed at the end.
"""


class _Parser(argparse.ArgumentParser):
    # One line a person can act on, not a usage dump.
    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pyg-jit-shim", description=(
        "Diagnose and activate pyg_jit_shim, which makes torch.jit.script work on "
        "PyTorch Geometric 2.5.0-2.5.2 as on 2.5.3."))
    parser.add_argument("--version", action="store_true", help=(
        "print the versions of the shim, Python, torch and torch_geometric, and exit"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser(
        "check", help="versions, what the shim did, and a self-test of every conv layer",
        description=CHECK_DESCRIPTION,
        epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--model", metavar="TARGET", help=(
        "PATH of a whole model saved with torch.save (loaded with weights_only=False: "
        "only your own files), or MODULE:CALLABLE, a function that returns the model, "
        "imported as python -m would, the working directory first on sys.path"))
    check.add_argument("--inputs", metavar="PATH", help=(
        "a tuple of example inputs saved with torch.save (weights_only=False too), "
        "to compare scripted with eager outputs"))
    show = commands.add_parser(
        "show", help="print the generated propagate()/edge_updater() of a layer class")
    show.add_argument("target", metavar="MODULE:CLASS")
    run = commands.add_parser(
        "run", help="run a program with the shim active from its first line",
        usage="pyg-jit-shim run -- CMD [ARGS...]")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS")
    return parser


def _dispatch(argv: Optional[List[str]]) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        from .selftest import version_line, versions

        print(version_line(versions()))
        return 0
    if args.command == "check" and args.model is not None:
        from .model_check import check_model

        return check_model(args.model, args.inputs, as_json=args.json)
    if args.command == "check":
        if args.inputs is not None:
            parser.error("--inputs needs --model")
        from .selftest import check

        return check(as_json=args.json)
    if args.command == "show":
        from .show import show

        return show(args.target)
    if args.command == "run":
        from .launcher import run

        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not command:
            parser.error("run needs a command after --, e.g. pyg-jit-shim run -- python app.py")
        return run(command)
    parser.error("a command is required: check, show or run")


def main(argv: Optional[List[str]] = None) -> int:
    try:
        try:
            return _dispatch(argv)
        finally:
            # Inside the handler: what is still buffered fails here, not at exit.
            sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return CLOSED_PIPE
