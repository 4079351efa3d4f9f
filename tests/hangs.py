"""What the tests of the shim's concurrency share: code for a fresh interpreter.

:data:`PRELUDE` is put before each scenario. It arms ``faulthandler`` so that
a scenario that hangs dumps every thread's stack and exits within seconds, and
defines:

* ``fresh_class()``: a new MessagePassing class (sum aggregation, no weights),
  so that every construction runs the generation step; ``usable(layer)``:
  its eager output equals the sum PyG alone computes; ``scripts(layer)``:
  ``torch.jit.script`` of it gives the same;
* ``consistent()``: ``status()`` says patched exactly when the shim's wrapper
  is on ``MessagePassing.__init__`` (the shim never claims to act when it
  does not, nor acts unannounced);
* ``Pause(function, where)``: run a callable in a thread that stops when it
  enters ``function`` of a file whose path contains ``where`` (PyG's or the
  shim's), until released: a deterministic "while another thread is inside X";
* ``in_child(check)``: fork, run ``check()`` in the child and return what it
  returned, or ``{"hung": ...}`` after its stacks were dumped and it was
  killed;
* ``Interrupt`` and ``raise_at(k)``: a signal handler raising ``Interrupt``
  at the k-th line that the shim executes (real signals, delivered where
  CPython delivers them).
"""

from typing import Iterable

# Seconds before a scenario's interpreter dumps its stacks and exits; the test
# process waits a little longer. Generous for a loaded 2-core machine that
# imports torch in several interpreters at once; a hang is caught in that time
# instead of CI's 90 minutes.
LIMIT = 150
CHILD_LIMIT = 60

_HEAD = r"""
import copy, dis, faulthandler, json, logging, os, pickle, signal, sys, threading, time, warnings
faulthandler.dump_traceback_later(%(limit)d, exit=True)
warnings.simplefilter("ignore")
import torch
from torch import Tensor
"""

# The shim first, as a service imports it.
_SERVICE = r"""
import pyg_jit_shim
from torch_geometric.nn import GCNConv, MessagePassing
"""


def summed_classes(names: Iterable[str]) -> str:
    """Source of module-level layer classes (picklable by reference), one per name."""
    return "".join(f"""

class {name}(MessagePassing):
    def __init__(self):
        super().__init__(aggr="add")

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x)
""" for name in names)

_TOOLS = r"""
x = torch.randn(6, 4)
edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 0, 3]])
summed = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])

records = []


class Collect(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())


logging.getLogger("pyg_jit_shim").addHandler(Collect())


def fresh_class():
    from torch_geometric.nn import MessagePassing

    class Fresh(MessagePassing):
        def __init__(self):
            super().__init__(aggr="add")

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

    return Fresh


def usable(layer):
    return bool(torch.allclose(layer(x, edge_index), summed))


def scripts(layer):
    return bool(torch.allclose(torch.jit.script(layer)(x, edge_index), summed))


def consistent():
    import pyg_jit_shim
    from torch_geometric.nn import MessagePassing

    wrapped = hasattr(vars(MessagePassing)["__init__"], "__wrapped__")
    return (pyg_jit_shim.status().verdict in ("patched", "partial")) == wrapped


def everything_works():
    # What a service does after the fact: toggling returns, layers build,
    # script and restore.
    import pyg_jit_shim
    from torch_geometric.nn import GCNConv

    found = {"consistent": consistent()}
    found["unpatch"] = pyg_jit_shim.unpatch().verdict
    found["pyg alone"] = usable(fresh_class()())
    found["patch"] = pyg_jit_shim.patch().verdict
    layer = fresh_class()()
    found["eager"] = usable(layer)
    found["scripted"] = scripts(layer)
    found["restored"] = scripts(copy.deepcopy(layer))
    found["unpickled"] = scripts(pickle.loads(pickle.dumps(Summed())))
    found["gcn"] = torch.jit.script(GCNConv(4, 4)) is not None
    found["consistent after"] = consistent()
    return found


class Pause:
    def __init__(self, function, where, skip=0):
        self.function, self.where, self.skip = function, where, skip
        self.reached, self.go = threading.Event(), threading.Event()
        self.error = None

    def _trace(self, frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_name == self.function and self.where in code.co_filename:
            if self.skip:
                self.skip -= 1
            else:
                sys.settrace(None)
                self.reached.set()
                self.go.wait(%(limit)d)
                return None
        return None

    def _run(self, action):
        sys.settrace(self._trace)
        try:
            action()
        except BaseException as error:
            self.error = repr(error)
        finally:
            sys.settrace(None)

    def start(self, action):
        self.thread = threading.Thread(target=self._run, args=(action,))
        self.thread.start()
        if not self.reached.wait(%(limit)d):
            raise RuntimeError("never reached %%s in %%s" %% (self.function, self.where))
        return self

    def finish(self):
        self.go.set()
        self.thread.join(%(limit)d)
        return not self.thread.is_alive() and self.error is None


def in_child(check):
    import tempfile

    # A file, not a pipe: a child never waits for its parent to read.
    out = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        faulthandler.register(signal.SIGUSR2, all_threads=True)
        try:
            data = json.dumps(check())
        except BaseException as error:
            data = json.dumps({"error": repr(error)})
        out.write(data.encode())
        out.flush()
        os._exit(0)
    deadline = time.monotonic() + %(child_limit)d
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGUSR2)  # its stacks, on the inherited stderr
            time.sleep(1)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"hung": "the forked child did not finish in %(child_limit)d s"}
        time.sleep(0.01)
    out.seek(0)
    return json.loads(out.read().decode() or '{"error": "no output"}')


class Interrupt(Exception):
    # An Exception, not a BaseException, as a service's own timeout often is:
    # the shim must not take it for a failure of its own.
    pass


def on_interrupt(number, frame):
    raise Interrupt()


signal.signal(signal.SIGUSR1, on_interrupt)


def shim_directory():
    return os.path.dirname(sys.modules["pyg_jit_shim"].__file__)


def _points(on_point):
    # A trace function that calls on_point() where CPython runs a Python
    # signal handler in the shim's code: as a function starts, and after each
    # call returns (the eval breaker). Raising from a trace function anywhere
    # else (say at a `try:` line) could land where no real signal can.
    shim, previous = shim_directory(), {}

    def trace(frame, event, arg):
        if not frame.f_code.co_filename.startswith(shim):
            return None
        if event == "call":
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
            on_point(frame)
        elif event == "opcode":
            if previous.get(frame, "").startswith("CALL"):
                on_point(frame)
            previous[frame] = dis.opname[frame.f_code.co_code[frame.f_lasti]]
        elif event == "return":
            previous.pop(frame, None)
        return trace

    return trace


def shim_points(action):
    # How many such points action() passes in the shim's code.
    count = [0]

    def on_point(frame):
        count[0] += 1

    sys.settrace(_points(on_point))
    try:
        action()
    finally:
        sys.settrace(None)
    return count[0]


def positions(points):
    # The points to try: every one of the first 20 (where the claim is taken),
    # then about 20 spread over the rest.
    return sorted(set(range(1, min(points, 20) + 1))
                  | set(range(1, points + 1, max(1, points // 20))))


def raise_at(point, action):
    # Sends SIGUSR1 at the point-th such point of action(); its handler
    # (on_interrupt, unless replaced) runs there. Returns what reached this
    # caller: "Interrupt", "done" (no exception: a handler that raises lost
    # its exception), another exception; or "not reached" (action() passed
    # fewer points this time).
    seen, sent = [0], [False]

    def on_point(frame):
        seen[0] += 1
        if seen[0] == point:
            sys.settrace(None)
            sent[0] = True
            signal.raise_signal(signal.SIGUSR1)

    try:
        try:
            sys.settrace(_points(on_point))
            action()
        finally:
            sys.settrace(None)
    except Interrupt:
        return "Interrupt"
    except BaseException as error:
        return repr(error)
    return "done" if sent[0] else "not reached"


def in_thread(action, seconds=30):
    # action() in another thread: whether it returned within seconds.
    box = []
    thread = threading.Thread(target=lambda: box.append(action()))
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()
"""

_VALUES = {"limit": LIMIT, "child_limit": CHILD_LIMIT}
# Before a scenario that starts with the shim and PyG imported.
PRELUDE = (_HEAD + _SERVICE + _TOOLS) % _VALUES + summed_classes(["Summed"])
# Before a scenario that imports them itself.
PRELUDE_WITHOUT_PYG = (_HEAD + _TOOLS) % _VALUES

# What everything_works() returns in a process where nothing is stuck.
EVERYTHING_WORKS = {
    "consistent": True, "unpatch": "unpatched", "pyg alone": True, "patch": "patched",
    "eager": True, "scripted": True, "restored": True, "unpickled": True, "gcn": True,
    "consistent after": True,
}
