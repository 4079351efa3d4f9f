"""Conformance table: does ``torch.jit.script`` work for every PyG conv layer?

For every class name in ``torch_geometric.nn.conv.__all__`` the table knows
how to build a tiny instance plus its inputs.  :func:`run_case` then

1. builds the layer (seeded, ``.eval()``),
2. runs it eagerly,
3. scripts it with ``torch.jit.script`` (through a small typed wrapper module
   where ``forward`` is overloaded, as PyG's own tests do: scripting such a
   layer yields ``forward__0..N``; every other layer is scripted directly,
   heterogeneous ones too, since TorchScript dicts cannot have the tuple keys
   a typed ``edge_index_dict`` wrapper would need),
4. runs the scripted module on the same inputs, and
5. compares both outputs with ``torch.allclose(atol=1e-6, rtol=0)``, through
   nested tuples, lists and dicts.

The outcome is one of :data:`STATUSES`.  The expected outcome on PyG 2.5.3
(the release whose TorchScript support the shim reproduces) is recorded in
``expected_2_5_3.json`` next to this file; ``tests/record_expected.py``
regenerates it.

:func:`save_scripted` scripts a case the same way and saves it with
``torch.jit.save``, inputs and eager output included; :func:`check_saved`
loads such a file with ``torch.jit.load`` and compares, needing only torch
(the recorded outcome on 2.5.3 is ``"jit_save_load"`` in the same file).

:func:`save_eager` saves a case's eager layer with ``torch.save``, inputs and
eager output included, the way a service saves a trained model;
:func:`check_loaded` restores it with ``torch.load`` (meant for a process that
never built the class), scripts it and compares.

Importing this module is cheap: ``torch`` and ``torch_geometric`` are only
imported inside the functions that need them.
"""

import io
import json
import math
import re
import warnings
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

__all__ = [
    "EXPECTED_FILE",
    "STATUSES",
    "Archive",
    "Archives",
    "Result",
    "ROUND_TRIP_STATUSES",
    "LOAD_STATUSES",
    "case_names",
    "check_loaded",
    "check_saved",
    "count_statuses",
    "eager_output",
    "expected_path",
    "format_table",
    "layer_names",
    "load_expected",
    "load_expected_round_trip",
    "run_all",
    "run_case",
    "save_eager",
    "save_scripted",
    "scripted_code",
    "shorten",
]

STATUSES = (
    "scripted",  # scripted, and equal to eager within ATOL
    "mismatch",  # scripted, but the outputs differ
    "script-failed",  # torch.jit.script (or calling the scripted module) raised
    "eager-failed",  # the eager forward raised
    "build-failed",  # constructing the layer raised
    "unavailable",  # an optional dependency is missing on this machine
    "no-case",  # the installed PyG has a class this table has no case for
)

# Outcomes of torch.jit.save in the building process (save_scripted), then
# torch.jit.load and a call in a process that needs only torch (check_saved).
ROUND_TRIP_STATUSES = (
    "ok",  # loaded, and the output equals the saved eager output within ATOL
    "mismatch",  # loaded and ran, but the output differs
    "run-failed",  # loaded, but calling the loaded module raised
    "load-failed",  # torch.jit.load raised
    "save-failed",  # torch.jit.save raised (save_scripted raises it; no file)
)

# Outcomes of torch.save of the eager layer in the building process
# (save_eager), then torch.load, a call, torch.jit.script and a call of the
# scripted module elsewhere (check_loaded).
LOAD_STATUSES = (
    "ok",  # loaded; eager and scripted outputs equal the saved one within ATOL
    "mismatch",  # loaded and scripted, but an output differs
    "script-failed",  # torch.jit.script of the loaded layer, or calling it, raised
    "eager-failed",  # the loaded layer raised when called
    "load-failed",  # torch.load raised
    "save-failed",  # torch.save raised (save_eager raises it; no file)
)

ATOL = 1e-6
EXPECTED_FILE = "expected_2_5_3.json"
# The one width of every message the command line shortens (check's rows,
# check --model's details, a child interpreter's last words). A TorchScript
# error's first line is up to ~150 characters, and check --model adds the
# file and line where compiling stopped: 300 keeps both whole with a long
# path, and still cuts a runaway message to a few terminal lines. The rule
# lives here, not in a module of its own, because this file must stand
# alone: it is loaded from its path where only torch is installed.
MESSAGE_WIDTH = 300
_ELLIPSIS = "..."


class Result(NamedTuple):
    name: str  # layer class name, e.g. "GCNConv"
    status: str  # one of STATUSES
    detail: str  # '' when scripted and equal, otherwise one line
    max_abs_diff: Optional[float]


# --------------------------------------------------------------------------
# Tiny shared inputs
# --------------------------------------------------------------------------

N = 6  # nodes
C = 8  # input channels
OUT = 4  # output channels
D = 3  # edge feature / position dimension
R = 3  # relations / edge types

# An undirected ring over N nodes plus one chord: every node has in-degree > 0.
_SRC = [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 0, 3]
_DST = [1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 0, 5, 3, 0]


class _Case(NamedTuple):
    layer: Any  # the torch.nn.Module under test
    args: Tuple[Any, ...]  # positional inputs of its ordinary call
    wrapper: Optional[str]  # key of _wrapper_classes(), None: script directly


class _Env:
    """The shared tiny inputs of one case, created right after seeding."""

    def __init__(self) -> None:
        import torch
        from torch_geometric.nn import conv

        self.torch: Any = torch
        self.conv: Any = conv
        E = len(_SRC)
        ei = torch.tensor([_SRC, _DST])
        self.inputs: Dict[str, Any] = {
            "x": torch.randn(N, C),
            "x0": torch.randn(N, C),
            "ei": ei,
            "ew": torch.rand(E) + 0.5,  # positive edge weights
            "ea": torch.randn(E, D),  # edge features
            "pseudo": torch.rand(E, D),  # pseudo-coordinates in [0, 1]
            "et": torch.arange(E) % R,  # edge (relation) types
            "pos": torch.randn(N, D),
            "normal": torch.nn.functional.normalize(torch.randn(N, D), dim=-1),
            "pos_ei": ei[:, ::2],
            "neg_ei": ei[:, 1::2],
            "x_seq": torch.randn(N, 3, C),  # DNAConv: [N, num_layers, C]
            "colors": torch.tensor([0, 1, 0, 1, 2, 0]),  # WLConv
            "node_type": torch.tensor([0, 1, 0, 1, 0, 1]),
            "hyper": torch.tensor([[0, 1, 2, 1, 2, 3, 3, 4, 5, 0],
                                   [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]]),
            "batch": torch.tensor([0, 0, 0, 1, 1, 1]),
            "mesh_x": torch.randn(N, C),  # MeshCNNConv: features per mesh edge
            "mesh_ei": torch.stack([
                torch.arange(N).repeat_interleave(4),
                torch.randint(0, N, (4 * N, )),
            ]),
            "x_dict": {"author": torch.randn(4, C), "paper": torch.randn(N, C)},
            "ei_dict": {
                ("author", "writes", "paper"):
                torch.tensor([[0, 1, 2, 3, 0, 1], [0, 1, 2, 3, 4, 5]]),
                ("paper", "rev_writes", "author"):
                torch.tensor([[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 0, 1]]),
                ("paper", "cites", "paper"): ei,
            },
        }

    def case(self, layer: Any, inputs: str,
             wrapper: Optional[str] = None) -> _Case:
        """``inputs``: space-separated keys of :attr:`inputs`, in call order."""
        args = tuple(self.inputs[key] for key in inputs.split())
        return _Case(layer, args, wrapper)

    def mlp(self, *channels: int) -> Any:
        """``Linear -> ReLU -> ... -> Linear`` through ``channels``."""
        nn = self.torch.nn
        layers: List[Any] = []
        for i in range(len(channels) - 1):
            if i > 0:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(channels[i], channels[i + 1]))
        return nn.Sequential(*layers)

    def metadata(self) -> Tuple[List[str], List[Tuple[str, str, str]]]:
        return (sorted(self.inputs["x_dict"]), sorted(self.inputs["ei_dict"]))

    def deg_histogram(self) -> Any:
        """In-degree histogram of ``ei``, as PNAConv expects for ``deg``."""
        torch = self.torch
        in_deg = torch.bincount(self.inputs["ei"][1], minlength=N)
        return torch.bincount(in_deg)


def _wrapper_classes() -> Dict[str, Any]:
    """Typed wrappers for layers that cannot be called as scripted directly.

    Scripting a layer with an overloaded ``forward`` (GATConv, GATv2Conv,
    TransformerConv, FAConv) yields ``forward__0..N``, so it is called
    through a wrapper whose ``forward`` fixes the argument types, exactly as
    PyG's own tests do.

    Fresh classes on every call, on purpose: once TorchScript failed to
    compile a class it refuses to compile it again ("Can't redefine method"),
    so a shared wrapper class would let one failing layer fail the next ones.
    Defined lazily so that importing this module does not import torch.
    """
    import torch
    from torch import Tensor

    class XEdgeAttr(torch.nn.Module):
        def __init__(self, conv: Any) -> None:
            super().__init__()
            self.conv = conv

        def forward(self, x: Tensor, edge_index: Tensor,
                    edge_attr: Tensor) -> Tensor:
            return self.conv(x, edge_index, edge_attr)

    class XX0Edge(torch.nn.Module):
        def __init__(self, conv: Any) -> None:
            super().__init__()
            self.conv = conv

        def forward(self, x: Tensor, x_0: Tensor, edge_index: Tensor) -> Tensor:
            return self.conv(x, x_0, edge_index)

    return {
        "x_edge_attr": XEdgeAttr,
        "x_x0_edge": XX0Edge,
    }


# --------------------------------------------------------------------------
# The table: class name -> builder(env, cls) -> _Case
# --------------------------------------------------------------------------

_Builder = Callable[[_Env, Any], _Case]


def _cugraph(e: _Env, cls: Any) -> _Case:
    """CuGraph*Conv: needs pylibcugraphops (and CUDA).

    The graph argument changed from a CSC tuple (2.5) to an ``EdgeIndex``
    (2.6+); pick whichever the installed ``forward`` takes.
    """
    import inspect

    name = cls.__name__
    if name == "CuGraphRGCNConv":
        layer = cls(C, OUT, num_relations=R)
    else:
        layer = cls(C, OUT)
    ei = e.inputs["ei"]
    if "csc" in inspect.signature(cls.forward).parameters:
        graph = cls.to_csc(ei, (N, N))
    else:
        from torch_geometric import EdgeIndex

        graph = EdgeIndex(ei, sparse_size=(N, N)).sort_by("col")[0]
    args: Tuple[Any, ...] = (e.inputs["x"], graph)
    if name == "CuGraphRGCNConv":
        args += (e.inputs["et"], )
    elif "edge_attr" in inspect.signature(cls.forward).parameters:
        args += (e.inputs["ea"], )
    return _Case(layer, args, None)


def _dir_gnn(e: _Env, cls: Any) -> _Case:
    return e.case(cls(e.conv.GCNConv(C, OUT)), "x ei")


def _gps(e: _Env, cls: Any) -> _Case:
    local = e.conv.GINConv(e.mlp(C, C))
    return e.case(cls(C, local, heads=2), "x ei batch")


def _hetero_conv(e: _Env, cls: Any) -> _Case:
    convs = {et: e.conv.SAGEConv(C, OUT) for et in e.inputs["ei_dict"]}
    return e.case(cls(convs, aggr="sum"), "x_dict ei_dict")


def _fused_gat(e: _Env, cls: Any) -> _Case:
    """FusedGATConv (dgNN) takes CSR/CSC/permutation instead of edge_index."""
    layer = cls(C, OUT, heads=2, add_self_loops=False)
    csr, csc, perm = cls.to_graph_format(e.inputs["ei"], size=(N, N))
    return _Case(layer, (e.inputs["x"], csr, csc, perm), None)


_CASES: Dict[str, _Builder] = {
    # ---- x, edge_index[, edge_weight] -----------------------------------
    "SimpleConv": lambda e, cls: e.case(cls(combine_root="sum"), "x ei ew"),
    "GCNConv": lambda e, cls: e.case(cls(C, OUT), "x ei ew"),
    "ChebConv": lambda e, cls: e.case(cls(C, OUT, K=3), "x ei ew"),
    "SAGEConv": lambda e, cls: e.case(cls(C, OUT), "x ei"),
    "GraphConv": lambda e, cls: e.case(cls(C, OUT), "x ei ew"),
    "GatedGraphConv": lambda e, cls: e.case(cls(C, num_layers=2), "x ei ew"),
    "AGNNConv": lambda e, cls: e.case(cls(), "x ei"),
    "TAGConv": lambda e, cls: e.case(cls(C, OUT, K=2), "x ei ew"),
    "GINConv": lambda e, cls: e.case(cls(e.mlp(C, 16, OUT)), "x ei"),
    "ARMAConv": lambda e, cls: e.case(
        cls(C, OUT, num_stacks=2, num_layers=2), "x ei ew"),
    "SGConv": lambda e, cls: e.case(cls(C, OUT, K=2), "x ei ew"),
    "SSGConv": lambda e, cls: e.case(cls(C, OUT, alpha=0.1, K=2), "x ei ew"),
    "APPNP": lambda e, cls: e.case(cls(K=2, alpha=0.1), "x ei ew"),
    "MFConv": lambda e, cls: e.case(cls(C, OUT), "x ei"),
    "EdgeConv": lambda e, cls: e.case(cls(e.mlp(2 * C, OUT)), "x ei"),
    "FeaStConv": lambda e, cls: e.case(cls(C, OUT, heads=2), "x ei"),
    "LEConv": lambda e, cls: e.case(cls(C, OUT), "x ei ew"),
    "ClusterGCNConv": lambda e, cls: e.case(cls(C, OUT, diag_lambda=0.5),
                                            "x ei"),
    "PANConv": lambda e, cls: e.case(cls(C, OUT, filter_size=2), "x ei"),
    "WLConv": lambda e, cls: e.case(cls(), "colors ei"),
    "WLConvContinuous": lambda e, cls: e.case(cls(), "x ei ew"),
    "SuperGATConv": lambda e, cls: e.case(cls(C, OUT, heads=2), "x ei"),
    "EGConv": lambda e, cls: e.case(
        cls(C, C, aggregators=["sum", "mean", "symnorm", "max", "std"],
            num_heads=2, num_bases=2), "x ei"),
    "LGConv": lambda e, cls: e.case(cls(), "x ei ew"),
    "MixHopConv": lambda e, cls: e.case(cls(C, OUT, powers=[0, 1, 2]),
                                        "x ei ew"),
    "AntiSymmetricConv": lambda e, cls: e.case(cls(C), "x ei"),
    "DirGNNConv": _dir_gnn,
    "GPSConv": _gps,
    "DNAConv": lambda e, cls: e.case(cls(C, heads=2), "x_seq ei ew"),
    # ---- x, edge_index, edge_attr ---------------------------------------
    "ResGatedGraphConv": lambda e, cls: e.case(cls(C, OUT, edge_dim=D),
                                               "x ei ea"),
    "GINEConv": lambda e, cls: e.case(cls(e.mlp(C, 16, OUT), edge_dim=D),
                                      "x ei ea"),
    "GMMConv": lambda e, cls: e.case(cls(C, OUT, dim=D, kernel_size=2),
                                     "x ei ea"),
    "SplineConv": lambda e, cls: e.case(cls(C, OUT, dim=D, kernel_size=3),
                                        "x ei pseudo"),
    "NNConv": lambda e, cls: e.case(cls(C, OUT, e.mlp(D, 16, C * OUT)),
                                    "x ei ea"),
    "CGConv": lambda e, cls: e.case(cls(C, dim=D), "x ei ea"),
    "PNAConv": lambda e, cls: e.case(
        cls(C, OUT, aggregators=["mean", "min", "max", "std"],
            scalers=["identity", "amplification", "attenuation"],
            deg=e.deg_histogram(), edge_dim=D, towers=2), "x ei ea"),
    "GENConv": lambda e, cls: e.case(cls(C, OUT, edge_dim=D), "x ei ea"),
    "PDNConv": lambda e, cls: e.case(
        cls(C, OUT, edge_dim=D, hidden_channels=16), "x ei ea"),
    "GeneralConv": lambda e, cls: e.case(cls(C, OUT, in_edge_channels=D),
                                         "x ei ea"),
    # ---- overloaded forward: typed wrapper ------------------------------
    "GATConv": lambda e, cls: e.case(cls(C, OUT, heads=2, edge_dim=D),
                                     "x ei ea", "x_edge_attr"),
    "GATv2Conv": lambda e, cls: e.case(cls(C, OUT, heads=2, edge_dim=D),
                                       "x ei ea", "x_edge_attr"),
    "TransformerConv": lambda e, cls: e.case(
        cls(C, OUT, heads=2, edge_dim=D), "x ei ea", "x_edge_attr"),
    "FAConv": lambda e, cls: e.case(cls(C), "x x0 ei", "x_x0_edge"),
    "FusedGATConv": _fused_gat,
    # ---- relation / type inputs -----------------------------------------
    "RGCNConv": lambda e, cls: e.case(cls(C, OUT, num_relations=R, num_bases=2),
                                      "x ei et"),
    "FastRGCNConv": lambda e, cls: e.case(
        cls(C, OUT, num_relations=R, num_bases=2), "x ei et"),
    # RGATConv's forward is not overloaded; with mod=None (the default)
    # it does not script even on 2.5.3 (`self.mod == ...` on a None).
    "RGATConv": lambda e, cls: e.case(
        cls(C, OUT, num_relations=R, heads=2, mod="additive"), "x ei et"),
    "FiLMConv": lambda e, cls: e.case(cls(C, OUT, num_relations=R), "x ei et"),
    "HEATConv": lambda e, cls: e.case(
        cls(C, OUT, num_node_types=2, num_edge_types=R, edge_type_emb_dim=2,
            edge_dim=D, edge_attr_emb_dim=2, heads=2),
        "x ei node_type et ea"),
    "SignedConv": lambda e, cls: e.case(cls(C, OUT, first_aggr=True),
                                        "x pos_ei neg_ei"),
    "GCN2Conv": lambda e, cls: e.case(cls(C, alpha=0.2, theta=0.5, layer=1),
                                      "x x0 ei ew"),
    "HypergraphConv": lambda e, cls: e.case(cls(C, OUT), "x hyper"),
    # ---- point clouds ---------------------------------------------------
    "PointNetConv": lambda e, cls: e.case(
        cls(e.mlp(C + D, 16, OUT), e.mlp(OUT, OUT)), "x pos ei"),
    "PPFConv": lambda e, cls: e.case(cls(e.mlp(C + 4, 16, OUT), e.mlp(OUT, OUT)),
                                     "x pos normal ei"),
    "PointTransformerConv": lambda e, cls: e.case(cls(C, OUT), "x pos ei"),
    "PointGNNConv": lambda e, cls: e.case(
        cls(e.mlp(C, D), e.mlp(D + C, C), e.mlp(C, C)), "x pos ei"),
    "GravNetConv": lambda e, cls: e.case(
        cls(C, OUT, space_dimensions=D, propagate_dimensions=2, k=2), "x"),
    "DynamicEdgeConv": lambda e, cls: e.case(cls(e.mlp(2 * C, OUT), k=2), "x"),
    "XConv": lambda e, cls: e.case(cls(C, OUT, dim=D, kernel_size=2),
                                   "x pos"),
    # ---- heterogeneous graphs -------------------------------------------
    # Scripted directly: TorchScript dicts cannot have tuple keys, so no typed
    # wrapper taking `Dict[Tuple[str, str, str], Tensor]` can exist.
    "HGTConv": lambda e, cls: e.case(cls(C, C, e.metadata(), heads=2),
                                     "x_dict ei_dict"),
    "HANConv": lambda e, cls: e.case(cls(C, C, e.metadata(), heads=2),
                                     "x_dict ei_dict"),
    "HeteroConv": _hetero_conv,
    # ---- CuGraph (pylibcugraphops) --------------------------------------
    "CuGraphSAGEConv": _cugraph,
    "CuGraphGATConv": _cugraph,
    "CuGraphRGCNConv": _cugraph,
    # ---- added after 2.5.3 ----------------------------------------------
    "MeshCNNConv": lambda e, cls: e.case(cls(C, OUT), "mesh_x mesh_ei"),
}


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

# PyG's own messages for missing optional packages, e.g.
# "'SparseTensor' requires 'torch-sparse'", "`XConv` requires `torch-cluster`."
# or "'CuGraphSAGEConv' requires 'pylibcugraphops>=23.02'".
_REQUIRES_RE = re.compile(r"\brequires\s+[`'\"][A-Za-z][\w.\-]*[^`'\"\s]*[`'\"]")


def _first_line(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return ""


def shorten(text: str) -> str:
    """``text`` as one line of at most :data:`MESSAGE_WIDTH` characters: a
    longer one is cut at a word boundary and ends with "...", so that a
    reader sees it was cut. The shim's own explanations are never passed
    here: they are printed whole."""
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    if len(line) <= MESSAGE_WIDTH:
        return line
    room = MESSAGE_WIDTH - len(_ELLIPSIS)
    cut = line[:room + 1].rfind(" ")
    # One long token (a path, a type): cutting inside it beats dropping most
    # of the room.
    kept = line[:cut] if cut > room // 2 else line[:room]
    return kept.rstrip(" ,;:") + _ELLIPSIS


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_first_line(exc)}".rstrip(": ")


def _one_line(exc: BaseException) -> str:
    return shorten(_described(exc))


def _missing_dependency(exc: BaseException) -> bool:
    """Whether ``exc`` says that an optional package is not installed."""
    seen: Optional[BaseException] = exc
    while seen is not None:
        if isinstance(seen, ImportError):
            return True
        if _REQUIRES_RE.search(_first_line(seen)):
            return True
        seen = seen.__cause__  # only explicit 'raise ... from ...' chains
    return False


def _failed(name: str, status: str, exc: BaseException) -> Result:
    if _missing_dependency(exc):
        status = "unavailable"
    return Result(name, status, _one_line(exc), None)


def _compare(torch: Any, eager: Any, scripted: Any,
             where: str = "out") -> Tuple[bool, float]:
    """``(all close, max abs diff)`` over (nested) tensors/tuples/lists/dicts.

    Raises ``ValueError`` when the two outputs differ in structure.
    """
    if isinstance(eager, torch.Tensor):
        if not isinstance(scripted, torch.Tensor):
            raise ValueError(f"{where}: tensor vs {type(scripted).__name__}")
        if eager.shape != scripted.shape or eager.dtype != scripted.dtype:
            raise ValueError(
                f"{where}: {eager.dtype}{list(eager.shape)} vs "
                f"{scripted.dtype}{list(scripted.shape)}")
        if eager.numel() == 0:
            return True, 0.0
        close = bool(torch.allclose(eager, scripted, atol=ATOL, rtol=0))
        diff = (eager.double() - scripted.double()).abs().max().item()
        return close, float(diff)
    if isinstance(eager, (tuple, list)):
        if (not isinstance(scripted, (tuple, list))
                or len(eager) != len(scripted)):
            raise ValueError(f"{where}: sequence of {len(eager)} vs "
                             f"{type(scripted).__name__}")
        pairs = [(f"{where}[{i}]", a, b)
                 for i, (a, b) in enumerate(zip(eager, scripted))]
    elif isinstance(eager, dict):
        if not isinstance(scripted, dict) or set(eager) != set(scripted):
            raise ValueError(f"{where}: dict keys differ")
        pairs = [(f"{where}[{k!r}]", eager[k], scripted[k]) for k in eager]
    else:
        if eager != scripted:
            raise ValueError(f"{where}: {eager!r} vs {scripted!r}")
        return True, 0.0
    close, diff = True, 0.0
    for sub, a, b in pairs:
        c, d = _compare(torch, a, b, sub)
        close, diff = close and c, max(diff, d)
    return close, diff


# keep(scripted, args, eager output): called only when the case scripted equal.
_Keep = Callable[[Any, Tuple[Any, ...], Any], None]


def _run(name: str, keep: Optional[_Keep] = None) -> Result:
    """Steps 1-5; exceptions of each step become that step's status.

    ``keep`` sees the scripted module of a case that ended "scripted"; what it
    raises is not caught here.
    """
    builder = _CASES.get(name)
    if builder is None:
        return Result(name, "no-case",
                      "the conformance table has no case for this class", None)
    try:
        import torch
        from torch_geometric.nn import conv
    except Exception as exc:  # e.g. PyG >= 2.7 without xxhash
        return _failed(name, "build-failed", exc)

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        # 1. build
        try:
            case = builder(_Env(), getattr(conv, name))
            layer = case.layer.eval()
            target = layer
            if case.wrapper is not None:
                target = _wrapper_classes()[case.wrapper](layer).eval()
        except Exception as exc:
            return _failed(name, "build-failed", exc)
        # 2. eager
        try:
            expected = layer(*case.args)
        except Exception as exc:
            return _failed(name, "eager-failed", exc)
        # 3. script, 4. run scripted
        try:
            scripted = torch.jit.script(target)
            actual = scripted(*case.args)
        except Exception as exc:
            return _failed(name, "script-failed", exc)
    # 5. compare
    try:
        close, diff = _compare(torch, expected, actual)
    except ValueError as exc:
        return Result(name, "mismatch", _one_line(exc), None)
    if close:
        if keep is not None:
            keep(scripted, case.args, expected)
        return Result(name, "scripted", "", diff)
    detail = f"max abs diff {diff:.3g} > atol {ATOL:g}"
    if math.isnan(diff):
        detail = "NaN in output"
    return Result(name, "mismatch", detail, diff)


def eager_output(name: str) -> Tuple[str, Any]:
    """Steps 1-2 only: ("ok", the eager output) or (a status, its one line).

    The same seeds and inputs as :func:`run_case`, so two processes that
    build a case alike get equal outputs.
    """
    builder = _CASES.get(name)
    if builder is None:
        return "no-case", "the conformance table has no case for this class"
    import torch
    from torch_geometric.nn import conv

    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        try:
            case = builder(_Env(), getattr(conv, name))
            layer = case.layer.eval()
        except Exception as exc:
            return _failed(name, "build-failed", exc)[1:3]
        try:
            return "ok", layer(*case.args)
        except Exception as exc:
            return _failed(name, "eager-failed", exc)[1:3]


def run_case(name: str, archives: Optional["Archives"] = None) -> Result:
    """Build, run, script, run scripted and compare the layer ``name``; with
    ``archives``, also write both archives of a case that ends "scripted"
    (:meth:`Archives.keep`).

    Never raises; deterministic (seeds a forked torch RNG, so the caller's
    RNG state is untouched, and uses ``.eval()``). Warnings (e.g.
    TorchScript's deprecation warning) are suppressed here only, never
    globally.

    TorchScript keeps state per process: once it failed to compile a class,
    compiling that class again fails with "Can't redefine method ...". A
    failing case run twice in one process therefore reports that message the
    second time (the status stays ``script-failed``), and so does a later
    case that reuses the class (DirGNNConv wraps GCNConv).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _run(name, keep=None if archives is None else archives.keep(name))
        except Exception as exc:  # a bug in a case: report, do not raise
            return Result(name, "build-failed", _one_line(exc), None)


# The inputs and the eager output travel inside the TorchScript archive.
_SAVED_DATA = "conformance.pt"
# Who wrote an archive: check's self-test compares the two.
PLAIN, REPAIRED = "torch.jit.save", "pyg_jit_shim.save"


class Archive(NamedTuple):
    status: str  # "saved", "save-failed" or "out-of-reach" (UnsaveableError)
    detail: str
    path: Optional[str]  # where it was written; None when it was not
    repaired: bool  # pyg_jit_shim.save wrote a repaired copy, not torch.jit.save's


class Archives:
    """Both archives of each scripted case, written while the case is scripted
    (no second build): ``torch.jit.save``'s in ``<directory>/plain`` and
    ``pyg_jit_shim.save``'s in ``<directory>/repaired``, each with the case's
    inputs and eager output, for :func:`check_saved`. Where the shim's archive
    is torch.jit.save's own (it loaded as it was), it is not written twice."""

    def __init__(self, directory: Union[str, Path]) -> None:
        self.directories = {PLAIN: Path(directory) / "plain",
                            REPAIRED: Path(directory) / "repaired"}
        for folder in self.directories.values():
            folder.mkdir(exist_ok=True)
        self.found: Dict[str, Dict[str, Archive]] = {}

    def keep(self, name: str) -> _Keep:
        def keep(scripted: Any, args: Tuple[Any, ...], expected: Any) -> None:
            self.found[name] = self._write(name, scripted, args, expected)

        return keep

    def _write(self, name: str, scripted: Any, args: Tuple[Any, ...],
               expected: Any) -> Dict[str, Archive]:
        import torch

        from ..report import UnsaveableError
        from ..saving import save

        data = io.BytesIO()
        torch.save({"args": args, "expected": expected}, data)
        extra = {_SAVED_DATA: data.getvalue()}
        plain = self.directories[PLAIN] / f"{name}.pt"
        found: Dict[str, Archive] = {}
        try:
            buffer = io.BytesIO()
            torch.jit.save(scripted, buffer, _extra_files=extra)
            plain.write_bytes(buffer.getvalue())
            found[PLAIN] = Archive("saved", "", str(plain), False)
        except Exception as exc:
            found[PLAIN] = Archive("save-failed", _one_line(exc), None, False)
        repaired = self.directories[REPAIRED] / f"{name}.pt"
        try:
            outcome = save(scripted, repaired, extra)
        except UnsaveableError as exc:
            # Its own explanation says what to change: whole.
            found[REPAIRED] = Archive("out-of-reach", _described(exc), None, False)
        except Exception as exc:
            found[REPAIRED] = Archive("save-failed", _one_line(exc), None, False)
        else:
            if not outcome.repaired and found[PLAIN].path is not None:
                repaired.unlink()  # the same bytes as torch.jit.save's: loaded once
                found[REPAIRED] = Archive("saved", "", found[PLAIN].path, False)
            else:
                found[REPAIRED] = Archive("saved", "", str(repaired), outcome.repaired)
        return found


def save_scripted(name: str, directory: Union[str, Path]) -> Optional[Path]:
    """Script the case ``name`` as :func:`run_case` does and save it.

    Writes ``<directory>/<name>.pt`` with ``torch.jit.save``; the archive
    also holds the case's inputs and its eager output (an extra file written
    with ``torch.save``), so that :func:`check_saved` needs nothing but torch.
    Returns the path, or ``None`` when the case does not end "scripted"
    (nothing is written then). What ``torch.jit.save`` raises is raised, as
    it would be for a user, and no file is left: ChebConv and RGATConv fail
    so on 2.5.3 too ("strides() called on an undefined Tensor").
    """
    path = Path(directory) / f"{name}.pt"

    def keep(scripted: Any, args: Tuple[Any, ...], expected: Any) -> None:
        import torch

        data = io.BytesIO()
        torch.save({"args": args, "expected": expected}, data)
        try:
            torch.jit.save(scripted, str(path),
                           _extra_files={_SAVED_DATA: data.getvalue()})
        except BaseException:
            if path.exists():
                path.unlink()
            raise

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _run(name, keep=keep)
    return path if result.status == "scripted" else None


def check_saved(path: Union[str, Path]) -> Result:
    """``torch.jit.load`` a file of :func:`save_scripted`, call it, compare.

    Needs only torch (this module imports nothing else at import time), so
    it runs where neither PyG nor the shim is installed. The returned
    :class:`Result` has the file's stem as ``name`` and one of
    :data:`ROUND_TRIP_STATUSES` but "save-failed" as ``status``; never raises
    for a file :func:`save_scripted` wrote.
    """
    import torch

    name = Path(path).stem
    extra: Dict[str, Any] = {_SAVED_DATA: ""}  # torch.jit.load fills in bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loaded = torch.jit.load(str(path), map_location="cpu",
                                    _extra_files=extra)
        except Exception as exc:
            return Result(name, "load-failed", _one_line(exc), None)
        data = torch.load(io.BytesIO(extra[_SAVED_DATA]), weights_only=True)
        try:
            with torch.no_grad():
                actual = loaded(*data["args"])
        except Exception as exc:
            return Result(name, "run-failed", _one_line(exc), None)
    try:
        close, diff = _compare(torch, data["expected"], actual)
    except ValueError as exc:
        return Result(name, "mismatch", _one_line(exc), None)
    if close:
        return Result(name, "ok", "", diff)
    return Result(name, "mismatch", f"max abs diff {diff:.3g} > atol {ATOL:g}",
                  diff)


def save_eager(name: str, directory: Union[str, Path]) -> Optional[Path]:
    """Build the case ``name`` as :func:`run_case` does and ``torch.save`` it.

    Writes ``<directory>/<name>.pt`` holding the whole eager layer (not a
    ``state_dict``), its inputs, its eager output and the name of the typed
    wrapper it is scripted through. Returns the path, or ``None`` when the
    case does not build or run eagerly (nothing is written then). What
    ``torch.save`` raises is raised, and no file is left.
    """
    builder = _CASES.get(name)
    if builder is None:
        return None
    import torch
    from torch_geometric.nn import conv

    path = Path(directory) / f"{name}.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0)
            try:
                case = builder(_Env(), getattr(conv, name))
                layer = case.layer.eval()
                expected = layer(*case.args)
            except Exception:
                return None
        try:
            torch.save({"layer": layer, "args": case.args, "expected": expected,
                        "wrapper": case.wrapper}, str(path))
        except BaseException:
            if path.exists():
                path.unlink()
            raise
    return path


def check_loaded(path: Union[str, Path]) -> Result:
    """``torch.load`` a file of :func:`save_eager`, call it, script it, compare.

    Run where the layer's class was never built, this is what a service does
    with a saved model. Both the loaded layer's output and its scripted
    output are compared with the saved eager output. The :class:`Result` has
    the file's stem as ``name`` and one of :data:`LOAD_STATUSES` but
    "save-failed" as ``status``; never raises for a file save_eager wrote.
    """
    import torch

    name = Path(path).stem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as exc:
            return Result(name, "load-failed", _one_line(exc), None)
        layer, args = data["layer"], data["args"]
        try:
            with torch.no_grad():
                eager = layer(*args)
        except Exception as exc:
            return Result(name, "eager-failed", _one_line(exc), None)
        try:
            target = layer
            if data["wrapper"] is not None:
                target = _wrapper_classes()[data["wrapper"]](layer).eval()
            with torch.no_grad():
                scripted = torch.jit.script(target)(*args)
        except Exception as exc:
            return Result(name, "script-failed", _one_line(exc), None)
    diffs = []
    for what, actual in (("eager", eager), ("scripted", scripted)):
        try:
            close, diff = _compare(torch, data["expected"], actual)
        except ValueError as exc:
            return Result(name, "mismatch", shorten(f"{what}: {_described(exc)}"), None)
        if not close:
            return Result(name, "mismatch",
                          f"{what}: max abs diff {diff:.3g} > atol {ATOL:g}", diff)
        diffs.append(diff)
    return Result(name, "ok", "", max(diffs))


def scripted_code(name: str) -> Dict[str, str]:
    """The TorchScript code of the case ``name``, scripted as :func:`run_case`
    does: ``"<submodule>.<method>" -> code`` for every compiled method;
    empty when the case does not end "scripted". A method that TorchScript
    cannot print (the ``torch.jit.save`` failure "strides() called on an
    undefined Tensor") has the error instead."""
    code: Dict[str, str] = {}

    def keep(scripted: Any, args: Tuple[Any, ...], expected: Any) -> None:
        for path, module in scripted.named_modules():
            for method in module._c._method_names():
                try:
                    text = module._c._get_method(method).code
                except RuntimeError as exc:
                    text = f"<not printable: {_one_line(exc)}>"
                code[f"{path}.{method}"] = text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(name, keep=keep)
    return code


def layer_names() -> List[str]:
    """Class names in ``torch_geometric.nn.conv.__all__``, minus
    ``MessagePassing``, in ``__all__`` order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch_geometric.nn import conv

    return [name for name in conv.__all__ if name != "MessagePassing"]


def case_names() -> List[str]:
    """Class names the table has a case for (sorted)."""
    return sorted(_CASES)


def run_all(
    names: Optional[Iterable[str]] = None,
    progress: Optional[Callable[[int, int, str], None]] = None,
    archives: Optional[Archives] = None,
) -> List[Result]:
    """:func:`run_case` for ``names`` (default: :func:`layer_names`).

    ``progress(i, total, name)`` is called before case ``i`` (1-based).
    """
    todo = layer_names() if names is None else list(names)
    results = []
    for i, name in enumerate(todo, 1):
        if progress is not None:
            progress(i, len(todo), name)
        results.append(run_case(name, archives))
    return results


def count_statuses(results: Iterable[Result]) -> Dict[str, int]:
    """``status -> count`` over all of :data:`STATUSES` (zeros included)."""
    counts = {status: 0 for status in STATUSES}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def format_table(results: Sequence[Result],
                 expected: Optional[Dict[str, str]] = None) -> str:
    """A plain-text table of ``results`` plus a one-line status summary.

    With ``expected`` (e.g. :func:`load_expected`), a third column shows the
    expected status wherever it differs from the actual one.
    """
    width = max([len(r.name) for r in results] + [5])
    lines = []
    for r in results:
        status = r.status
        if expected is not None and expected.get(r.name, r.status) != status:
            status += f" (2.5.3: {expected[r.name]})"
        line = f"{r.name:<{width}}  {status:<13}"
        if r.detail:
            line += f"  {r.detail}"
        lines.append(line.rstrip())
    summary = ", ".join(f"{status}: {n}"
                        for status, n in count_statuses(results).items() if n)
    lines.append(f"{len(results)} layers - {summary}")
    return "\n".join(lines)


def expected_path() -> Path:
    """Path of the recorded PyG 2.5.3 statuses shipped beside this module."""
    return Path(__file__).resolve().parent / EXPECTED_FILE


def load_expected() -> Dict[str, str]:
    """Layer name -> status on PyG 2.5.3, as recorded in ``EXPECTED_FILE``."""
    with open(expected_path(), encoding="utf-8") as f:
        data = json.load(f)
    return dict(data["cases"])


def load_expected_round_trip() -> Dict[str, str]:
    """Layer name -> :func:`check_saved` status on PyG 2.5.3, for every case
    recorded "scripted" there (``"jit_save_load"`` in ``EXPECTED_FILE``)."""
    with open(expected_path(), encoding="utf-8") as f:
        data = json.load(f)
    return dict(data["jit_save_load"])
