"""``pyg_jit_shim.save``: ``torch.jit.save`` whose archive loads again.

Loaded when ``save`` is first called, never at ``import pyg_jit_shim``. It
works on any PyG release, with the generator patches in place or not: what
it repairs is TorchScript's own writing (:mod:`pyg_jit_shim.graph_repair`).

The archive ``torch.jit.save`` writes is taken as it is when it loads (it is
loaded here, from memory, as ``torch.jit.load`` would load it elsewhere);
only when it does not is the repaired copy written, and it too is loaded
before anything reaches the destination. A path is written through a
temporary file beside it, renamed into place: a failed save leaves no file,
and an earlier archive at that path stays as it was.
"""

from __future__ import annotations

import os
from typing import IO, Any, Dict, Mapping, NamedTuple, Optional, Tuple, Union

from . import graph_repair
from .report import INFO, WARNING, ArchiveError, describe, log, pass_on

Target = Union[str, "os.PathLike[str]", IO[bytes]]


class Outcome(NamedTuple):
    repaired: bool  # the repaired copy was written
    casts: int
    inlined: Tuple[str, ...]
    # Set where a plain archive that does not load was written because the
    # caller asked for it (plain_fallback): why the repair could not be made.
    fallback: Optional[str]


PLAIN = Outcome(False, 0, (), None)


def save(module: Any, f: Target, _extra_files: Optional[Mapping[str, Any]] = None,
         plain_fallback: bool = False) -> Outcome:
    import torch

    if not isinstance(module, torch.jit.ScriptModule):
        raise ArchiveError(
            f"save() takes a scripted module, not {type(module).__module__}."
            f"{type(module).__qualname__}: call torch.jit.script(model) first")
    extra = dict(_extra_files or {})
    with _Destination(f) as destination:
        data, outcome = _archive(module, extra, plain_fallback)
        destination.write(data)
    if outcome.repaired:
        log(INFO, "saved %s with %d no-op cast(s)%s, so that it loads", destination.name,
            outcome.casts, "".join(f", {name.rpartition('.')[2]} inlined"
                                   for name in outcome.inlined))
    return outcome


def _archive(module: Any, extra: Dict[str, Any], plain_fallback: bool) -> Tuple[bytes, Outcome]:
    plain, problem = _written(module, extra)
    if plain is not None:
        problem = _load_problem(plain)
        if problem is None:
            return plain, PLAIN
        problem = "does not load: " + problem
    else:
        problem = "cannot be written: " + str(problem)
    try:
        repaired = graph_repair.repaired_copy(module)
    except graph_repair.MissingGraphAPI as missing:
        import torch

        reason = f"torch {torch.__version__} lacks {missing}, which the repair needs"
        if plain_fallback and plain is not None:
            log(WARNING, "writing torch.jit.save's own archive, as plain_fallback asks: it %s "
                "(%s)", problem, reason)
            return plain, Outcome(False, 0, (), reason)
        hint = "; plain_fallback=True writes it anyway" if plain is not None else ""
        raise ArchiveError(f"the archive torch.jit.save writes {problem}; {reason}{hint}"
                           ) from None
    if not repaired.casts and not repaired.inlined:
        raise ArchiveError(f"the archive torch.jit.save writes {problem}, for a cause "
                           "the shim does not repair")
    data, failure = _written(repaired.module, extra)
    if data is None:
        raise ArchiveError(f"the archive torch.jit.save writes {problem}; the repaired "
                           f"copy cannot be written either: {failure}")
    failure = _load_problem(data)
    if failure is not None:
        raise ArchiveError(f"the archive torch.jit.save writes {problem}; the repaired "
                           f"copy does not load either: {failure}")
    return data, Outcome(True, repaired.casts, repaired.inlined, None)


def _written(module: Any, extra: Dict[str, Any]) -> Tuple[Optional[bytes], Optional[str]]:
    """The archive as ``torch.jit.save`` writes it, or None and why not.

    ``save_to_buffer`` is what ``torch.jit.save`` calls for a file object;
    called directly, it does not repeat torch's deprecation warning."""
    try:
        data: bytes = module._c.save_to_buffer(_extra_files=extra)
    except Exception as error:
        pass_on(error)
        return None, describe(error)
    return data, None


def _load_problem(data: bytes) -> Optional[str]:
    """Why ``torch.jit.load`` of ``data`` fails, or None where it loads."""
    import io

    import torch

    loader = getattr(torch._C, "import_ir_module_from_buffer", None)
    try:
        if loader is not None:
            # What torch.jit.load does, in a compilation unit of its own, as in
            # a fresh process; without its deprecation warning, which filters
            # (-W error) could turn into an exception that is not the archive's.
            loader(torch._C.CompilationUnit(), data, torch.device("cpu"), {}, False)
        else:
            torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as error:
        pass_on(error)
        return describe(error)
    return None


class _Destination:
    """Where the archive goes: a path, through a temporary file beside it that is
    renamed into place, or a file object, written once at the end."""

    def __init__(self, f: Target) -> None:
        self._file: Optional[IO[bytes]] = None
        self._path: Optional[str] = None
        self._temporary: Optional[str] = None
        if isinstance(f, (str, os.PathLike)):
            self._path = os.path.realpath(os.fspath(f))
            self.name = os.fspath(f)
        elif callable(getattr(f, "write", None)):
            self._file = f
            self.name = getattr(f, "name", None) or type(f).__name__
        else:
            raise ArchiveError(f"save() writes to a path or a file object, not "
                               f"{type(f).__name__}")

    def __enter__(self) -> _Destination:
        if self._path is not None:
            # Before any work: a destination that cannot be written says so first.
            _check_writable(self._path, self.name)
            self._create_beside(self._path)
        return self

    def _create_beside(self, path: str) -> None:
        directory, base = os.path.split(path)
        mode = 0o666  # as torch.jit.save creates a file: the umask applies
        if os.path.exists(path):
            mode = os.stat(path).st_mode & 0o7777  # an archive replaced keeps its mode
        for attempt in range(100):
            # Noted before it exists: an exception from a signal handler right
            # after the file is made still finds it to remove. The process id
            # in the name makes it this process's own.
            self._temporary = os.path.join(directory, f".{base}.{os.getpid()}.{attempt}.tmp")
            try:
                os.close(os.open(self._temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
            except FileExistsError:
                self._temporary = None  # another thread's save of the same path
                continue
            except OSError as error:
                self._temporary = None
                raise ArchiveError(f"cannot write {self.name}: {_reason(error)}") from None
            if mode != 0o666:
                os.chmod(self._temporary, mode)
            return
        self._temporary = None
        raise ArchiveError(f"cannot write {self.name}: no free temporary name in {directory}")

    def write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)
            flush = getattr(self._file, "flush", None)
            if callable(flush):
                flush()
            return
        assert self._path is not None and self._temporary is not None
        try:
            with open(self._temporary, "wb") as file:
                file.write(data)
            os.replace(self._temporary, self._path)
        except OSError as error:
            raise ArchiveError(f"cannot write {self.name}: {_reason(error)}") from None
        self._temporary = None

    def __exit__(self, *exc_info: Any) -> None:
        if self._temporary is not None:
            try:
                os.unlink(self._temporary)
            except OSError:
                pass
            self._temporary = None


def _check_writable(path: str, name: str) -> None:
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise ArchiveError(f"cannot write {name}: it is a directory")
    if not os.path.isdir(directory or os.curdir):
        raise ArchiveError(f"cannot write {name}: no directory {directory}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ArchiveError(f"cannot write {name}: permission denied")


def _reason(error: OSError) -> str:
    # Not the temporary file's name, which the user never gave.
    return error.strerror or describe(error)
