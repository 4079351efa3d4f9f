"""Makes ``torch.jit.script`` work on PyTorch Geometric 2.5.0-2.5.2 as on 2.5.3.

``import pyg_jit_shim`` before building any layer. On the affected releases it
repairs PyG's ``propagate`` generator when ``torch_geometric`` is imported; on
every other release it touches nothing. ``PYG_JIT_SHIM=off`` disables it,
``PYG_JIT_SHIM=strict`` turns every problem it would log into an exception.
"""

from .activation import Status, activate, patch, status, unpatch
from .report import GenerationError, ShimError

__version__ = "0.1.0"
__all__ = ["GenerationError", "ShimError", "Status", "patch", "status", "unpatch"]

activate()
