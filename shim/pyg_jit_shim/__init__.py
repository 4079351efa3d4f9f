"""Makes ``torch.jit.script`` work on PyTorch Geometric 2.5.0-2.5.2 as on 2.5.3.

``import pyg_jit_shim`` before building any layer. On the affected releases it
repairs PyG's ``propagate`` generator when ``torch_geometric`` is imported; on
every other release it touches nothing. ``PYG_JIT_SHIM=off`` disables it,
``PYG_JIT_SHIM=strict`` turns every problem it would log into an exception.
"""

from __future__ import annotations

from .activation import activate, patch, status, unpatch
from .report import ArchiveError, GenerationError, ShimError, UnsaveableError
from .status import Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from typing import IO, Any, Mapping, Optional, Union

__version__ = "0.1.0"
__all__ = ["ArchiveError", "GenerationError", "ShimError", "Status", "UnsaveableError",
           "patch", "save", "status", "unpatch"]


def save(module: Any, f: Union[str, os.PathLike[str], IO[bytes]],
         _extra_files: Optional[Mapping[str, Any]] = None, *,
         plain_fallback: bool = False) -> None:
    """``torch.jit.save(module, f, _extra_files)``, with an archive that loads.

    On every PyG release, ``torch.jit.save`` writes archives of GCNConv, SGConv,
    ChebConv and many more layers that ``torch.jit.load`` (and C++
    ``torch::jit::load``) cannot load. This writes the archive that
    ``torch.jit.save`` writes where that one loads, and otherwise a repaired
    one: no-op casts where TorchScript's printer drops a ``Union`` type, and
    inlined calls of functions whose defaults it cannot write. It loads where
    neither PyG nor the shim is installed. ``module`` itself is not changed.

    Every archive is loaded here before it is written. Raises
    :class:`ArchiveError`, with the cause, where no archive that loads can be
    written (:class:`UnsaveableError` where the cause is the module's own
    code); nothing is written then. ``plain_fallback=True`` writes
    ``torch.jit.save``'s own archive, with a warning, where this torch lacks
    what the repair needs.
    """
    from .saving import save as _save

    _save(module, f, _extra_files, plain_fallback)

activate()
