"""How each backport patch meets a build it does not fit.

``FAULTS`` maps a patch of the "beyond 2.5.3" block of ``pyg_jit_shim.fixes``
to a snippet that runs in a fresh interpreter after ``import torch_geometric``
and before ``import pyg_jit_shim``. Each does what a vendor build or a
service's own code does, and makes that patch's check refuse it: the shim's
verdict is then ``partial``, the patch is in ``status().skipped`` with the
reason, and layers build and run as with PyG alone.
"""

from typing import Dict

FAULTS: Dict[str, str] = {
    # A service's own hook, e.g. one that upgrades old checkpoints (or a vendor
    # build with #9368 backported its own way).
    "restore-generation": """
import torch
from torch_geometric.nn.conv.message_passing import MessagePassing


def __setstate__(self, state):
    torch.nn.Module.__setstate__(self, state)


MessagePassing.__setstate__ = __setstate__
""",
    # A service's own wrapper around the inspector (logging, caching): what it
    # calls inside cannot be seen.
    "inspector-keywords": """
import functools
from torch_geometric.inspector import Inspector

_parse = Inspector.get_params_from_method_call


@functools.wraps(_parse)
def get_params_from_method_call(self, func, exclude=None):
    return _parse(self, func, exclude)


Inspector.get_params_from_method_call = get_params_from_method_call
""",
    # A vendor build that keeps collect() in a template of its own name: what
    # it renders is PyG's text, but not from the template the check reads.
    # Its templates lie beside its message_passing module, which this copy
    # stands in for.
    "collect-optional-edges": """
import atexit, os, shutil, tempfile
import torch_geometric.nn.conv.message_passing as message_passing

installed = os.path.dirname(os.path.realpath(message_passing.__file__))
vendor = tempfile.mkdtemp(prefix="vendor-pyg-conv-")
atexit.register(shutil.rmtree, vendor, True)
for name in os.listdir(installed):
    if name.endswith(".jinja"):
        shutil.copy(os.path.join(installed, name), vendor)
shutil.copy(os.path.join(vendor, "collect.jinja"), os.path.join(vendor, "collect_args.jinja"))
for name in ("propagate.jinja", "edge_updater.jinja"):
    with open(os.path.join(vendor, name)) as file:
        text = file.read()
    with open(os.path.join(vendor, name), "w") as file:
        file.write(text.replace('{% include "collect.jinja" %}',
                                '{% include "collect_args.jinja" %}'))
message_passing.__file__ = os.path.join(vendor, "message_passing.py")
""",
    # A vendor build whose Sequential template names each child's class in the
    # generated source: the class then depends on more than the children's
    # names and signatures, which is all a pickle records. Its sequential
    # module (and so its templates) lies elsewhere, as the copy stands in for.
    "sequential-pickle": """
import atexit, os, shutil, tempfile
import torch_geometric.nn
import torch_geometric.nn.sequential as sequential

installed = os.path.dirname(os.path.realpath(torch_geometric.nn.__file__))
vendor = tempfile.mkdtemp(prefix="vendor-pyg-nn-")
atexit.register(shutil.rmtree, vendor, True)
with open(os.path.join(installed, "sequential.jinja")) as file:
    text = file.read()
with open(os.path.join(vendor, "sequential.jinja"), "w") as file:
    file.write(text.replace(
        "{%- for child in children %}\\n        {{child.return_names",
        "{%- for child in children %}\\n        # {{child.module.__class__.__name__}}"
        "\\n        {{child.return_names", 1))
sequential.__file__ = os.path.join(vendor, "sequential.py")
""",
}
