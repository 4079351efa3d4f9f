import os

# As in a service: the shim is imported first, before anything builds a layer.
# Tests of other import orders run in subprocesses.
os.environ.pop("PYG_JIT_SHIM", None)
os.environ.pop("PYG_JIT_SHIM_DUMP_DIR", None)
import pyg_jit_shim  # noqa: F401
from tests.helpers import IS_AFFECTED

# Each release is tested for what the shim promises on it: the repairs on the
# affected releases, untouched objects everywhere else. CI runs every release.
collect_ignore = ["untouched"] if IS_AFFECTED else ["affected"]
