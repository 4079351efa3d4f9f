"""A reader that goes away (``pyg-jit-shim check | head``) ends the command
quietly, as it ends standard tools: no traceback, exit status 141."""

import errno
import os
import select
import stat
import sys
from typing import IO, Any

# What a shell reports for a program that SIGPIPE ended (128 + 13), which is
# how ``cat``, ``grep`` and the like end on a closed pipe. Exiting with it,
# rather than dying of the signal, gives the same status everywhere, Windows
# included.
CLOSED_PIPE = 141


def reader_gone(stream: IO[Any]) -> bool:
    """Whether ``stream`` is a pipe whose reading end is already closed.

    Lets ``check`` skip a self-test whose report nobody would read. Where
    this cannot be told (not a pipe, no poll()), the answer is False and the
    first write finds out instead.
    """
    if not hasattr(select, "poll"):
        return False
    try:
        fd = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError, AttributeError):
        return False
    # A pipe without readers polls as an error on its writing end.
    return any(revents & select.POLLERR for _, revents in events)


def closed_pipe() -> BrokenPipeError:
    return BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def silence_stdout() -> None:
    """Points standard output at the null device, so that the interpreter's
    last flush of what is still buffered cannot fail, and print, at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
