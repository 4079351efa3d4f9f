import os
from typing import Any, List

# As in a service: the shim is imported first, before anything builds a layer.
# Tests of other import orders run in subprocesses.
os.environ.pop("PYG_JIT_SHIM", None)
os.environ.pop("PYG_JIT_SHIM_DUMP_DIR", None)
import pyg_jit_shim  # noqa: F401
from tests.helpers import IS_AFFECTED, PYG

# Each release is tested for what the shim promises on it: the repairs on the
# affected releases, untouched objects everywhere else. CI runs every release.
collect_ignore = ["untouched"] if IS_AFFECTED else ["affected"]


def pytest_collection_modifyitems(config: Any, items: List[Any]) -> None:
    """``@pytest.mark.only_on(release)``: a test of what the repaired releases
    share (the samples in docs/, taken on 2.5.2; the command line's own logic)
    runs on that release alone; CI runs every release. Elsewhere it is
    deselected, as the other directory's tests are."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("only_on")
        (kept if marker is None or PYG in marker.args else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
