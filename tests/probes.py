"""Snippets run in fresh interpreters: what a process sees of PyG's objects."""

# Prints one JSON line describing the generator bindings and patched objects.
DESCRIBE = r"""
import json, sys, types
import torch_geometric
import torch_geometric.template as template
import torch_geometric.nn.conv.message_passing as mp
import torch_geometric.nn.sequential as sequential
import torch_geometric.inspector as inspector


def depth(obj):
    n = 0
    while hasattr(obj, "__wrapped__"):
        obj, n = obj.__wrapped__, n + 1
    return n, obj


generator = template.module_from_template
wraps, innermost = depth(generator)
init = vars(mp.MessagePassing)["__init__"]
report = {
    "generator_wraps": wraps,
    "generator_is_pygs": type(generator) is types.FunctionType
        and generator.__module__ == "torch_geometric.template",
    "innermost_is_pygs": innermost.__module__ == "torch_geometric.template",
    "bindings_agree": mp.module_from_template is generator
        and sequential.module_from_template is generator,
    "init_wraps": depth(init)[0],
    "init_is_plain": type(init) is types.FunctionType,
    "wrapt_imported": "wrapt" in sys.modules,
}
try:
    import pyg_jit_shim
    report["verdict"] = pyg_jit_shim.status().verdict if "pyg_jit_shim" in sys.modules else None
except ImportError:
    report["verdict"] = None
print(json.dumps(report))
"""

# Records the identity of every object a patch may replace, where it exists
# (2.4.0 has no template generator at all).
IDENTITIES = r"""
import importlib

_TARGETS = [
    ("torch_geometric.template", "module_from_template"),
    ("torch_geometric.nn.conv.message_passing", "module_from_template"),
    ("torch_geometric.nn.sequential", "module_from_template"),
    ("torch_geometric.nn.conv.message_passing", "MessagePassing", "__init__"),
    ("torch_geometric.nn.conv.message_passing", "MessagePassing", "explain"),
    ("torch_geometric.nn.conv.message_passing", "MessagePassing", "decomposed_layers"),
    ("torch_geometric.inspector", "Inspector", "get_source"),
    ("torch_geometric.inspector", "Inspector", "_globals"),
    ("torch_geometric.inspector", "find_parenthesis_content"),
]


def identities():
    found = {}
    for module, *path in _TARGETS:
        try:
            obj = importlib.import_module(module)
        except ImportError:
            continue
        for name in path:
            obj = vars(obj).get(name)
            if obj is None:
                break
        if obj is not None:
            found[".".join([module] + path)] = [
                id(obj), type(obj).__name__, getattr(obj, "__module__", None)]
    return found
"""

SCRIPT_GCN = r"""
import torch
from torch_geometric.nn import GCNConv
try:
    torch.jit.script(GCNConv(4, 4))
    scripted = True
except Exception as error:
    scripted = repr(error)[:300]
"""
