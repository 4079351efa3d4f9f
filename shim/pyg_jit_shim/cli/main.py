"""``pyg-jit-shim`` / ``python -m pyg_jit_shim``: check, save, show, run."""

import argparse
import sys
from typing import List, NoReturn, Optional

from .pipes import CLOSED_PIPE, silence_stdout

USAGE_ERROR = 2

CHECK_DESCRIPTION = """\
Without --model: the versions, what the shim did, and a self-test of every PyG
conv layer, its archives included. With --model: the service's own model as a
serving process meets it, loaded or built after the shim, in eval mode;
scripted; compared with eager on --inputs; saved with torch.jit.save and with
pyg_jit_shim.save, then torch.jit.load-ed in a fresh interpreter. The
same for each MessagePassing and Sequential inside it, and, where the shim
repairs the release, all of it again with PYG_JIT_SHIM=off, to name what needed
the shim.
"""
CHECK_EPILOG = """\
exit status:
  0    fine (--model: the model scripts, and equals eager on --inputs)
  1    a finding: without --model, a layer that PyG 2.5.3 scripts does not script here,
       or pyg_jit_shim.save gives no archive of it that loads (but where the layer's
       own code is the cause, which is reported); with --model, the model does not load
       where it was not built, does not script, a scripted module (or one loaded from
       an archive) computes something else than eager, pyg_jit_shim.save's archive
       does not load, or a step works only without the shim
  2    cannot check: usage, torch or PyG missing, the model or --inputs cannot be
       loaded, MODULE:CALLABLE not found or raising, or the model raises on --inputs
  141  standard output was closed early (check | head): the check stops quietly

An archive of pyg_jit_shim.save that does not load is a finding; one of
torch.jit.save that does not load is reported (GCNConv and others, on every PyG
release, PyG #8867): ship pyg_jit_shim.save's (pyg-jit-shim save --model).
Nothing is left on disk: files go to a private temporary directory, removed at the end.
"""
SAVE_DESCRIPTION = """\
Write the service's model as a TorchScript archive for C++ libtorch, OpenMM-Torch,
PLUMED or torch.jit.load: loaded or built as check --model meets it (after the
shim, in eval mode), scripted, written with pyg_jit_shim.save (which repairs what
torch.jit.save's own archive cannot load back), then loaded in a fresh
interpreter where neither PyG nor the shim can be imported and, with --inputs,
run and compared with eager (atol 1e-6). Only an archive that passes is written
to ARCHIVE.
"""
SAVE_EPILOG = """\
example:
  pyg-jit-shim save --model models:build --out model.ts --inputs inputs.pt

exit status:
  0    ARCHIVE written and verified
  1    a finding: the model does not load or script, pyg_jit_shim.save cannot write
       it (the cause is named), or the archive does not load in a fresh interpreter
       or computes something else than eager; nothing is written to ARCHIVE
  2    cannot save: usage, torch or PyG missing, the model or --inputs cannot be
       loaded, MODULE:CALLABLE not found or raising, or the model raises on --inputs
  141  standard output was closed early
"""
SHOW_DESCRIPTION = """\
Print the source of the propagate() and edge_updater() generated for a
MessagePassing layer class, as this process generates it: by the shim where it
repairs the release, by PyG itself elsewhere. MODULE is imported as python -m
would, the working directory first on sys.path: a class of model.py there is
found.
"""
SHOW_EPILOG = """\
examples:
  pyg-jit-shim show torch_geometric.nn:GATv2Conv
  pyg-jit-shim show model:WeightedSum     # a class of model.py in the working directory

exit status:
  0    printed
  1    nothing generated for that class (it defines its own propagate(), or
       generation failed): the reason on standard error
  2    usage: MODULE:CLASS not found or not a MessagePassing class, or a PyG
       release before 2.5.0, which has no generator
  141  standard output was closed early (show | head)
"""
RUN_DESCRIPTION = """\
Run CMD with the shim active from its first line, without touching its code:
a sitecustomize put first on PYTHONPATH imports pyg_jit_shim (then runs any
sitecustomize the environment already had, once), in the program and in the
Python child processes it starts. CMD replaces this process.
"""
RUN_EPILOG = """\
example:
  pyg-jit-shim run -- python serve.py

python -E, -I and -S skip PYTHONPATH or sitecustomize: run -- python -E serve.py,
and any child interpreter started so, run without the shim, silently.

exit status:
  the program's own (SIGPIPE is left at its default for it), or
  2    usage: no command after --
  126  the program cannot be executed, as a shell reports it
  127  the program is not found, as a shell reports it
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
    save = commands.add_parser(
        "save", help="script the service's model and write a TorchScript archive that loads",
        description=SAVE_DESCRIPTION, epilog=SAVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    save.add_argument("--model", metavar="TARGET", required=True, help=(
        "as for check --model: PATH of a whole model saved with torch.save, or "
        "MODULE:CALLABLE, a function that returns the model"))
    save.add_argument("--out", metavar="ARCHIVE", required=True,
                      help="where the archive goes")
    save.add_argument("--inputs", metavar="PATH", help=(
        "a tuple of example inputs saved with torch.save, to compare the loaded archive "
        "with eager"))
    save.add_argument("--json", action="store_true", help="print the report as JSON")
    show = commands.add_parser(
        "show", help="print the generated propagate()/edge_updater() of a layer class",
        description=SHOW_DESCRIPTION, epilog=SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("target", metavar="MODULE:CLASS", help=(
        "a MessagePassing class, e.g. torch_geometric.nn:GCNConv"))
    run = commands.add_parser(
        "run", help="run a program with the shim active from its first line",
        usage="pyg-jit-shim run -- CMD [ARGS...]", description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help=(
        "the program and its arguments, after --"))
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
    if args.command == "save":
        from .save_command import save_model

        return save_model(args.model, args.out, args.inputs, as_json=args.json)
    if args.command == "show":
        from .show import show

        return show(args.target)
    if args.command == "run":
        from .launcher import run

        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not command:
            parser.error("run needs a command after --, e.g. pyg-jit-shim run -- python app.py")
        return run(command)
    parser.error("a command is required: check, save, show or run")


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
