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
    """Raised under ``PYG_JIT_SHIM=strict`` where ``auto`` would only log."""


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
