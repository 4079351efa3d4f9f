"""Realistic ways in which a patch of the shim may not fit a torch_geometric.

Each snippet runs in a fresh interpreter after ``import torch_geometric`` and
before ``import pyg_jit_shim`` (which then patches at once), the way a vendor
build or a service's own code would have changed PyG first. Each change keeps
PyG itself working for every conv layer: a missing propagate template, say,
would not (2.5.0 raises at every construction then), so the missing template
here is Sequential's, which no conv layer reads.
"""

from typing import NamedTuple, Tuple


class Fault(NamedTuple):
    patch: str  # the patch whose check must refuse the build
    label: str
    code: str


FAULTS: Tuple[Fault, ...] = (
    Fault("generator", "a service's own wrapper, bound where MessagePassing reads it", """
import torch_geometric.nn.conv.message_passing as mp
_generator = mp.module_from_template
mp.module_from_template = lambda *args, **kwargs: _generator(*args, **kwargs)
"""),
    Fault("generator", "a vendor's generator with another signature, bound everywhere", """
import torch_geometric.template as template
import torch_geometric.nn.conv.message_passing as mp
import torch_geometric.nn.sequential as sequential
_generator = template.module_from_template
def module_from_template(module_name, template_path, tmp_dirname, *, cache=True, **kwargs):
    return _generator(module_name, template_path, tmp_dirname, **kwargs)
for module in (template, mp, sequential):
    module.module_from_template = module_from_template
"""),
    Fault("generator", "Sequential's template missing beside its module", """
import os, tempfile
import torch_geometric.nn.sequential as sequential
sequential.__file__ = os.path.join(tempfile.mkdtemp(), "sequential.py")
"""),
    Fault("properties", "a vendor's own descriptor for explain", """
from torch_geometric.nn.conv.message_passing import MessagePassing
class Explain:
    def __init__(self, original):
        self.original = original
    def __get__(self, layer, owner=None):
        return self if layer is None else self.original.__get__(layer, owner)
    def __set__(self, layer, value):
        self.original.__set__(layer, value)
MessagePassing.explain = Explain(vars(MessagePassing)["explain"])
"""),
    Fault("construction", "a service's profiling decorator on MessagePassing.__init__", """
import functools
from torch_geometric.nn.conv.message_passing import MessagePassing
def timed(init):
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        return init(self, *args, **kwargs)
    return wrapper
MessagePassing.__init__ = timed(MessagePassing.__init__)
"""),
    Fault("inspector-source", "a service's wrapper around Inspector.get_source", """
from torch_geometric.inspector import Inspector
_get_source = Inspector.get_source
def get_source(self, *args, **kwargs):
    return _get_source(self, *args, **kwargs)
Inspector.get_source = get_source
"""),
    Fault("inspector-globals", "a vendor's own descriptor for Inspector._globals", """
from torch_geometric.inspector import Inspector
class Globals:
    def __init__(self, fget):
        self.fget = fget
    def __get__(self, inspector, owner=None):
        return self if inspector is None else self.fget(inspector)
Inspector._globals = Globals(vars(Inspector)["_globals"].fget)
"""),
    Fault("inspector-comments", "a service's wrapper around find_parenthesis_content", """
import torch_geometric.inspector as inspector
_find = inspector.find_parenthesis_content
inspector.find_parenthesis_content = lambda *args: _find(*args)
"""),
)


def _backport_faults() -> Tuple[Fault, ...]:
    from tests.faults_backports import FAULTS as BACKPORTS

    labels = {
        "restore-generation": "a service's own MessagePassing.__setstate__",
        "inspector-keywords": "a service's wrapper around the inspector's call parser",
        "collect-optional-edges": "a vendor's templates with collect under another name",
        "sequential-pickle": "a vendor's Sequential template that reads each child's class",
    }
    return tuple(Fault(patch, labels[patch], code) for patch, code in BACKPORTS.items())


FAULTS += _backport_faults()
