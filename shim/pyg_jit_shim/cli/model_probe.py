"""One process's view of a user's model, for ``pyg-jit-shim check --model``.

:func:`probe` loads (``torch.load``) or builds (``MODULE:CALLABLE``) the
model, puts it in eval mode, runs it once eagerly on the example inputs with
hooks that keep what each ``MessagePassing`` and ``Sequential`` inside it was
called with and returned, scripts the model and each of those, calls every
scripted one with the same inputs and compares, and writes each scripted
module with ``torch.jit.save`` and with ``pyg_jit_shim.save``.
:func:`load_archives` is the other half, meant for a fresh interpreter:
``torch.jit.load``, call, compare.

Everything returned is plain JSON data. What the user's code prints goes to
stderr, so that standard output stays the report's.
"""

import contextlib
import io
import math
import os
import re
import sys
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..patches.sequential_pickle import SequentialPickleError
from ..report import describe
from .conformance import ATOL, _compare, shorten
from .targets import TargetError, import_target, working_directory_first

# Inputs and eager output travel inside each TorchScript archive.
_CALL_DATA = "pyg_jit_shim_call.pt"
# TorchScript's addresses make the same error read differently each run.
_ADDRESS = re.compile(r" \(of Python compilation unit at: 0x[0-9a-f]+\)")
_LOCATION = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)
# The module a pickled 2.5.x Sequential names: generated in the process that
# built it, under a random name (PyG 2.6 made Sequential a class, #9369).
_SEQUENTIAL_MODULE = "torch_geometric.nn.sequential_"
# What pickle says of a class it cannot find in an existing module. Under
# ``python -m pyg_jit_shim`` the main module is named by its spec, the shim's
# own __main__; under the console script it is the script, named "__main__".
# A class of a spawned worker's script pickles as __mp_main__'s, which the
# import of multiprocessing (torch's) makes another name of __main__ here.
_MISSING_ATTRIBUTE = re.compile(r"Can't get attribute '([^']+)' on <module '([^']+)'")
_MAIN_MODULES = ("__main__", "pyg_jit_shim.__main__")


class CannotCheck(Exception):
    """The check cannot run as asked: one line for the user (exit status 2)."""


def cause(error: BaseException) -> str:
    """One line: the error's first line and, for TorchScript's errors, where;
    shortened unless it is the shim's own explanation."""
    if isinstance(error, SequentialPickleError):
        return describe(error)  # its remedies come last: cut, they would be lost
    text = _ADDRESS.sub("", describe(error)).rstrip(":")
    where = _LOCATION.search(str(error))
    if where is not None:
        # Installed packages by their import path, not the venv's.
        path = where.group(1).rpartition("site-packages" + os.sep)[2]
        text += f" (at {path}, line {where.group(2)})"
    return shorten(text)


def _saved_from_main(target: str, error: BaseException) -> Optional[str]:
    """Why ``torch.load`` failed, where the pickle names a class of the main
    script of the program that saved it; None for any other error, which is
    then reported as it is."""
    found = _MISSING_ATTRIBUTE.search(str(error)) if isinstance(error, AttributeError) else None
    if found is None or found.group(2) not in _MAIN_MODULES:
        return None
    return (f"cannot load {target}: the pickle refers to __main__.{found.group(1)}, a class "
            "of the program that saved it, which no other program has; define the class in "
            "an importable module (and save again), or give --model MODULE:CALLABLE, a "
            "function that builds the model")


@contextlib.contextmanager
def _user_code() -> Iterator[None]:
    """The user's code may print and warn: not into the report."""
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _obtain(target: str) -> Tuple[Any, Dict[str, Any]]:
    """(the model or None, what happened). A model that this process cannot
    load for a reason that a serving process would meet too is a finding,
    not a refusal."""
    import torch

    # A check leaves nothing behind, not even __pycache__ beside the user's code.
    sys.dont_write_bytecode = True
    if os.path.isfile(target):
        working_directory_first()  # the classes the pickle names, as for python -m
        info: Dict[str, Any] = {"target": target, "form": "file"}
        try:
            with _user_code():
                # The service's own file, as torch.load needs on torch >= 2.6
                # for anything but plain tensors.
                model = torch.load(target, map_location="cpu", weights_only=False)
        except Exception as error:
            if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith(
                    _SEQUENTIAL_MODULE):
                return None, dict(info, obtained="load-failed", detail=cause(error))
            raise CannotCheck(_not_loaded(target, error)) from None
        obtained = "loaded"
    elif ":" in target:
        info = {"target": target, "form": "callable"}
        try:
            with _user_code():
                factory = import_target(target)
        except TargetError as error:
            raise CannotCheck(str(error)) from None
        if not callable(factory):
            raise CannotCheck(f"{target} is not callable")
        try:
            with _user_code():
                model = factory()
        except Exception as error:
            raise CannotCheck(f"{target}() raised {cause(error)}") from None
        obtained = "built"
    else:
        raise CannotCheck(f"no file {target!r}, and not MODULE:CALLABLE")
    if isinstance(model, torch.jit.ScriptModule):
        raise CannotCheck(f"{target} is TorchScript already (torch.jit.save): give the "
                          "model saved with torch.save, or the function that builds it")
    if not isinstance(model, torch.nn.Module):
        hint = (": a state_dict? give the function that builds the model and loads it, "
                "as MODULE:CALLABLE" if isinstance(model, dict) else "")
        raise CannotCheck(
            f"{target} gives an object of type {type(model).__name__}, not a "
            f"torch.nn.Module{hint}")
    return model, dict(info, obtained=obtained, detail="", **{"class": _class_name(model)})


def _not_loaded(target: str, error: Exception) -> str:
    """Why the check cannot load the model, ``torch.load`` having raised ``error``."""
    from_main = _saved_from_main(target, error)
    if from_main is not None:
        return from_main  # the shim's own explanation: whole
    if isinstance(error, ModuleNotFoundError):
        return (f"cannot load {target}: {describe(error)} (the working directory "
                f"{os.getcwd()} is on the Python path; run from the directory the "
                "service runs in)")
    return f"cannot load {target}: {cause(error)}"


def _inputs(path: Optional[str]) -> Optional[Tuple[Any, ...]]:
    if path is None:
        return None
    import torch

    try:
        with _user_code():
            found = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise CannotCheck(f"cannot load the inputs {path}: {cause(error)}") from None
    return tuple(found) if isinstance(found, (tuple, list)) else (found,)


def _class_name(module: Any) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


def _kind(module: Any) -> Optional[str]:
    from torch_geometric import nn

    if isinstance(module, nn.MessagePassing):
        return "MessagePassing"
    sequential = getattr(nn, "Sequential", None)
    # 2.5.x: a function that makes a class in a generated module; 2.6: a class.
    if (isinstance(sequential, type) and isinstance(module, sequential)) or type(
            module).__module__.startswith(_SEQUENTIAL_MODULE):
        return "Sequential"
    return None


def _clone(value: Any) -> Any:
    """Tensors copied, so that a later in-place change does not reach them."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_clone(item) for item in value)
    if isinstance(value, list):
        return [_clone(item) for item in value]
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    return value


class _Call:
    """What a module was first called with, and what it returned."""

    def __init__(self) -> None:
        self.args: Optional[Tuple[Any, ...]] = None
        self.kwargs: Dict[str, Any] = {}
        self.output: Any = None
        self.returned = False


def _record(modules: Dict[str, Any]) -> Tuple[Dict[str, _Call], Callable[[], None]]:
    """Hooks that fill one :class:`_Call` per module; and their removal."""
    calls: Dict[str, _Call] = {}
    handles: List[Any] = []
    for name, module in modules.items():
        call = calls[name] = _Call()

        def before(_: Any, args: Tuple[Any, ...], kwargs: Optional[Dict[str, Any]] = None,
                   call: _Call = call) -> None:
            if call.args is None:
                call.args, call.kwargs = _clone(args), _clone(kwargs or {})

        def after(_: Any, args: Tuple[Any, ...], *rest: Any, call: _Call = call) -> None:
            if not call.returned:
                call.output, call.returned = _clone(rest[-1]), True

        try:  # keyword arguments too, where torch can (2.0 and later)
            handles.append(module.register_forward_pre_hook(before, with_kwargs=True))
            handles.append(module.register_forward_hook(after, with_kwargs=True))
        except TypeError:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))

    def remove() -> None:
        for handle in handles:
            handle.remove()

    return calls, remove


def _fresh_compiler_state() -> None:
    """After a failed ``torch.jit.script``, TorchScript keeps the half-compiled
    class, and scripting it again fails with "Can't redefine method" instead
    of the cause. Forgetting its types, as torch's own tests do, lets the next
    attempt name the cause again."""
    from torch.jit import _recursive

    store = getattr(_recursive, "ConcreteTypeStore", None)
    if store is not None and hasattr(_recursive, "concrete_type_store"):
        _recursive.concrete_type_store = store()


def _script(module: Any) -> Tuple[Any, Dict[str, str]]:
    import torch

    try:
        with _user_code():
            scripted = torch.jit.script(module)
    except Exception as error:
        _fresh_compiler_state()
        return None, {"status": "script-failed", "detail": cause(error)}
    methods = set(scripted._c._method_names())
    if "forward" not in methods and "forward__0" in methods:
        return scripted, {"status": "overloaded", "detail": (
            "its forward() is overloaded: scripted alone it compiles to forward__0.."
            "forward__N and cannot be called; it scripts as part of the model, or "
            "through a typed wrapper module")}
    return scripted, {"status": "scripted", "detail": ""}


def _finite(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


def compare(expected: Any, actual: Any) -> Dict[str, Any]:
    """``equal`` within ``check``'s tolerance, or ``mismatch`` and how."""
    import torch

    try:
        close, diff = _compare(torch, expected, actual)
    except ValueError as error:
        return {"status": "mismatch", "detail": describe(error), "max_abs_diff": None}
    if close:
        return {"status": "equal", "detail": "", "max_abs_diff": _finite(diff)}
    detail = ("NaN in output" if math.isnan(diff)
              else f"max abs diff {diff:.3g} > atol {ATOL:g}")
    return {"status": "mismatch", "detail": detail, "max_abs_diff": _finite(diff)}


def _call(module: Any, call: _Call) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]), torch.no_grad(), _user_code():
        torch.manual_seed(0)
        return module(*(call.args or ()), **call.kwargs)


def _against_eager(scripted: Any, script: Dict[str, str], call: Optional[_Call],
                   eager: Dict[str, str]) -> Dict[str, Any]:
    def outcome(status: str, detail: str = "") -> Dict[str, Any]:
        return {"status": status, "detail": detail, "max_abs_diff": None}

    if call is None:
        return outcome("no-inputs")
    if script["status"] != "scripted":
        return outcome("overloaded" if script["status"] == "overloaded" else "not-scripted")
    if not call.returned:
        if call.args is not None or eager["status"] != "ok":
            return outcome("eager-failed", eager["detail"])
        return outcome("not-called", "the model's forward did not call it on these inputs")
    try:
        actual = _call(scripted, call)
    except Exception as error:
        return outcome("run-failed", cause(error))
    return compare(call.output, actual)


def _call_data(call: Optional[_Call]) -> Dict[str, bytes]:
    """The call and its eager output, to travel inside an archive."""
    import torch

    extra = {}
    if call is not None and call.returned:
        data = io.BytesIO()
        try:
            torch.save({"args": call.args, "kwargs": call.kwargs, "expected": call.output},
                       data)
        except Exception:  # inputs that do not pickle: the archive is only loaded
            pass
        else:
            extra[_CALL_DATA] = data.getvalue()
    return extra


def _save(scripted: Any, extra: Dict[str, bytes], path: str) -> Dict[str, Any]:
    """``torch.jit.save``, with the call and its eager output inside the archive."""
    import torch

    try:
        with _user_code():
            torch.jit.save(scripted, path, _extra_files=extra)
    except Exception as error:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return {"status": "save-failed", "detail": cause(error), "max_abs_diff": None}
    return {"status": "saved", "detail": "", "max_abs_diff": None, "archive": path}


def _save_repaired(scripted: Any, extra: Dict[str, bytes], path: str,
                   plain: Dict[str, Any]) -> Dict[str, Any]:
    """``pyg_jit_shim.save``: where it writes torch.jit.save's own archive, that
    one is loaded once, for both (``"same_as": "jit_save_load"``)."""
    from ..report import UnsaveableError
    from ..saving import save

    try:
        with _user_code():
            outcome = save(scripted, path, extra)
    except UnsaveableError as error:
        return {"status": "out-of-reach", "detail": describe(error), "max_abs_diff": None,
                "repaired": False}
    except Exception as error:
        return {"status": "save-failed", "detail": cause(error), "max_abs_diff": None,
                "repaired": False}
    if not outcome.repaired and "archive" in plain:
        os.unlink(path)
        return {"status": "saved", "detail": "", "max_abs_diff": None, "repaired": False,
                "same_as": "jit_save_load"}
    return {"status": "saved", "detail": "", "max_abs_diff": None, "archive": path,
            "repaired": outcome.repaired}


def probe(target: str, inputs_path: Optional[str], directory: str,
          stop: Callable[[], None] = lambda: None) -> Dict[str, Any]:
    """What this process makes of the model; archives go to ``directory``.

    ``stop`` is called between steps and may raise to end the work early.
    Raises :class:`CannotCheck` where the check cannot run as asked.
    """
    model, info = _obtain(target)
    args = _inputs(inputs_path)
    result: Dict[str, Any] = {"model": info, "rows": [], "inputs": None if args is None else {
        "path": inputs_path, "arguments": len(args)}}
    if model is None:
        return result
    stop()
    model.eval()  # as a service runs it: dropout and batch statistics off
    modules: Dict[str, Any] = {"": model}
    kinds = {"": "model"}
    for name, module in model.named_modules():
        kind = _kind(module)
        if name and kind is not None:
            modules[name], kinds[name] = module, kind
    eager = {"status": "no-inputs", "detail": ""}
    calls: Dict[str, _Call] = {}
    if args is not None:
        calls, remove = _record(modules)
        try:
            _call(model, _with(args))
            eager = {"status": "ok", "detail": ""}
        except Exception as error:
            eager = {"status": "eager-failed", "detail": cause(error)}
        finally:
            remove()
    info["eager"] = eager
    for index, (name, module) in enumerate(modules.items()):
        stop()
        scripted, script = _script(module)
        call = calls.get(name)
        row = {"name": name, "kind": kinds[name], "class": _class_name(module), "script": script,
               "scripted_vs_eager": _against_eager(scripted, script, call, eager)}
        if scripted is None:
            for step in ("jit_save_load", "shim_save_load"):
                row[step] = {"status": "not-scripted", "detail": "", "max_abs_diff": None}
        else:
            extra = _call_data(call if script["status"] == "scripted" else None)
            row["jit_save_load"] = _save(scripted, extra,
                                         os.path.join(directory, f"{index}.pt"))
            row["shim_save_load"] = _save_repaired(
                scripted, extra, os.path.join(directory, f"{index}.shim.pt"),
                row["jit_save_load"])
        result["rows"].append(row)
    return result


def _with(args: Tuple[Any, ...]) -> _Call:
    call = _Call()
    call.args = args
    return call


def load_archives(paths: List[str]) -> List[Dict[str, Any]]:
    """In a fresh interpreter: ``torch.jit.load`` each archive of :func:`probe`,
    call it with what it was called with eagerly, compare with the eager output."""
    import torch

    outcomes = []
    for path in paths:
        extra: Dict[str, Any] = {_CALL_DATA: ""}  # torch.jit.load fills in bytes
        try:
            with _user_code():
                loaded = torch.jit.load(path, map_location="cpu", _extra_files=extra)
        except Exception as error:
            outcomes.append({"status": "load-failed", "detail": cause(error),
                             "max_abs_diff": None})
            continue
        if not extra[_CALL_DATA]:
            outcomes.append({"status": "loaded", "detail": "", "max_abs_diff": None})
            continue
        data = torch.load(io.BytesIO(extra[_CALL_DATA]), weights_only=False)  # written by probe
        call = _with(data["args"])
        call.kwargs = data["kwargs"]
        try:
            actual = _call(loaded, call)
        except Exception as error:
            outcomes.append({"status": "run-failed", "detail": cause(error),
                             "max_abs_diff": None})
            continue
        outcome = compare(data["expected"], actual)
        outcome["status"] = "ok" if outcome["status"] == "equal" else outcome["status"]
        outcomes.append(outcome)
    return outcomes
