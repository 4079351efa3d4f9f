"""Messages to the user: one logger, one record per cause.

``logging`` is imported on the first message only: a service whose release
needs nothing from the shim never pays for it. Records go to the logger
``pyg_jit_shim``; without any logging configuration Python prints WARNING and
above to stderr, so a problem is never silent. Logging, unlike ``warnings``,
cannot be turned into an exception by ``-W error``: a message never breaks a
service.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LOGGER = "pyg_jit_shim"
INFO = 20
WARNING = 30


class ShimError(RuntimeError):
    """The shim's errors: under ``PYG_JIT_SHIM=strict`` where ``auto`` would
    only log, and from :func:`pyg_jit_shim.save`."""


class GenerationError(ShimError):
    """A layer's ``propagate``/``edge_updater`` could not be generated."""


def log(level: int, message: str, *args: Any) -> None:
    import logging

    logging.getLogger(LOGGER).log(level, "pyg_jit_shim: " + message, *args)


def describe(error: BaseException) -> str:
    """One line naming an exception: its type and the first line of its text."""
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    kind = type(error).__name__
    return f"{kind}: {first}" if first else kind


def from_signal_handler(error: BaseException) -> bool:
    """Whether ``error`` came out of a Python signal handler now installed (a
    timeout, a service's own interrupt): the caller's exception, to be passed
    on unchanged, never taken for a failure of the shim and logged.

    Only asked where the shim catches an exception it would otherwise report.
    """
    import signal

    codes = set()
    for number in signal.valid_signals():
        try:
            handler: Any = signal.getsignal(number)
        except (OSError, ValueError):
            continue
        function = getattr(handler, "func", handler)  # functools.partial
        function = getattr(function, "__func__", function)  # a bound method
        code = getattr(function, "__code__", None)
        if code is not None:
            codes.add(code)
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code in codes:
            return True
        traceback = traceback.tb_next
    return False


def pass_on(error: BaseException) -> None:
    """Raise ``error`` again where it came out of a signal handler
    (:func:`from_signal_handler`); return where the shim may handle it."""
    if from_signal_handler(error):
        raise error


class ArchiveError(ShimError):
    """:func:`pyg_jit_shim.save` cannot write an archive that loads; nothing was written."""


class UnsaveableError(ArchiveError):
    """The module's own code holds something TorchScript cannot write, out of
    the shim's reach (the message names it and what to change)."""
