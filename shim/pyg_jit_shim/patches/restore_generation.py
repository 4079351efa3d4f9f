"""Patch ``restore-generation``: generated ``propagate()`` for layers restored
by ``torch.load``/``pickle`` (#9368).

Unpickling does not run ``__init__``, so a layer restored in a process that
never built its class keeps ``MessagePassing``'s ``**kwargs`` ``propagate()``,
which ``torch.jit.script`` rejects. PyG 2.6 generates in
``MessagePassing.__setstate__``. The ``__setstate__`` installed here restores
the state as ``torch.nn.Module`` does, then runs the generation step of
construction itself (:meth:`Construction.generate`): the class gets the very
module a constructed layer gets, once; a class already built in this process
is left as it is, and a class with its own ``propagate()`` keeps it. As in 2.6,
a class whose ``propagate`` was put back to ``MessagePassing.propagate``
(``_orig_propagate``) gets its generated one again.

Generation reads the layer's ``fuse``; 2.6 takes the restored value, which a
layer may have changed after construction (FastRGCNConv's ``forward`` sets it
to False), and the class's module would then differ from the one that
construction generates. Here generation sees ``fuse`` as ``__init__`` set it.

This runs when a layer is unpickled (``torch.load``, ``pickle``,
``copy.deepcopy``), never when it is called.
"""

from typing import Any, Dict, FrozenSet, Optional

from ..pyg_objects import PyG
from ..recording import Recorder
from ..report import WARNING, ShimError, describe, log, pass_on
from ..weak_classes import ClassSet
from .construction import installed as installed_construction


def _fuse_aggregations(pyg: PyG) -> Optional[FrozenSet[str]]:
    found = vars(pyg.message_passing).get("FUSE_AGGRS")
    if not isinstance(found, (set, frozenset)) or not all([isinstance(a, str) for a in found]):
        return None
    return frozenset(found)


def fuse_at_construction(layer: Any, fuse_aggregations: FrozenSet[str]) -> bool:
    """``fuse`` as ``MessagePassing.__init__`` sets it, before generating."""
    fuse = bool(layer.inspector.implements("message_and_aggregate"))
    aggr = getattr(layer, "aggr", None)
    if aggr is not None:
        fuse = fuse and isinstance(aggr, str) and aggr in fuse_aggregations
    return fuse


def check(pyg: PyG) -> Optional[str]:
    base = pyg.MessagePassing
    if base is None or pyg.Inspector is None:
        return "torch_geometric has no MessagePassing or Inspector"
    if _fuse_aggregations(pyg) is None:
        return "message_passing.FUSE_AGGRS is not a set of aggregation names"
    if "__setstate__" in vars(base):
        return "MessagePassing already defines __setstate__"
    if not callable(getattr(pyg.Module, "__setstate__", None)):
        return "torch.nn.Module has no __setstate__"
    if installed_construction(pyg) is None:
        return "MessagePassing.__init__ does not run the shim's generation step"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    construction = installed_construction(pyg)
    fuse_aggregations = _fuse_aggregations(pyg)
    assert construction is not None and fuse_aggregations is not None  # check()
    base = pyg.MessagePassing
    inspector_type = pyg.Inspector
    failed = ClassSet()

    def __setstate__(self: Any, state: Dict[str, Any]) -> None:
        super(base, self).__setstate__(state)
        # What generation reads; a state without it is not a 2.5 layer.
        if not isinstance(state.get("inspector"), inspector_type) or "fuse" not in state:
            return
        attributes = self.__dict__
        restored_fuse = attributes["fuse"]
        try:
            attributes["fuse"] = fuse_at_construction(self, fuse_aggregations)
            if construction.active:  # read once, as by a construction
                construction.generate(self, restoring=True)  # fix: script-after-load
        except ShimError:
            raise  # strict: as at construction
        except Exception as error:
            pass_on(error)  # the caller's, as any exception during unpickling
            # Restoring worked before the shim; it must keep working.
            cls = type(self)
            if cls not in failed:
                failed.add(cls)
                log(WARNING, "cannot generate propagate() for the restored %s.%s: %s; "
                    "it keeps PyG's eager propagate()", cls.__module__, cls.__qualname__,
                    describe(error))
        finally:
            attributes["fuse"] = restored_fuse

    __setstate__.__qualname__ = f"{base.__qualname__}.__setstate__"
    recorder.replace(base, "__setstate__", __setstate__)

