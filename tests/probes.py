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
    # Sequential's may be wrapped once more, around the same generator, by
    # the sequential-pickle patch.
    "bindings_agree": mp.module_from_template is generator
        and generator in (sequential.module_from_template,
                          getattr(sequential.module_from_template, "__wrapped__", None)),
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
    # Beyond 2.5.3 (__setstate__ exists from PyG 2.6 on):
    ("torch_geometric.inspector", "Inspector", "get_params_from_method_call"),
    ("torch_geometric.nn.conv.message_passing", "MessagePassing", "__setstate__"),
    # What sequential-pickle relies on and leaves alone (it rebinds only
    # torch_geometric.nn.sequential.module_from_template, above):
    ("torch_geometric.nn.sequential", "Sequential"),
    ("torch_geometric.nn", "Sequential"),
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
    # The import system: sequential-pickle puts a finder last on it.
    import sys
    found["sys.meta_path"] = [[id(finder) for finder in sys.meta_path], "list",
                              [type(finder).__module__ for finder in sys.meta_path]]
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

# What fails on every 2.5.x without the shim, 2.5.3 included, and works on
# PyG 2.6 (#9245, #9494, #9368). argv[1], argv[2]: a torch.save'd
# TutorialEdgeConv and TutorialGCN, both (8, 4).
BEYOND_2_5_3 = r"""
import json, sys
import pyg_jit_shim
import torch
import torch_geometric
from tests.helpers import graph
from tests.layers import beyond, tutorial


def outcome(call):
    try:
        call()
    except Exception as error:
        lines = str(error).strip().splitlines()
        return type(error).__name__ + (": " + lines[0] if lines else "")
    return "ok"


x, edge_index = graph()
restored = torch.load(sys.argv[1], weights_only=False)
tutorial.TutorialGCN(8, 4)
built_first = torch.load(sys.argv[2], weights_only=False)
report = {
    "keyword first, eager": outcome(lambda: beyond.KeywordFirst()(x, edge_index)),
    "keyword first, scripted": outcome(
        lambda: torch.jit.script(beyond.KeywordFirst())(x, edge_index)),
    "optional edge_attr omitted, eager": outcome(
        lambda: beyond.OptionalEdgeAttr()(x, edge_index)),
    "restored, scripted": outcome(lambda: torch.jit.script(restored)(x, edge_index)),
    "restored, class built here first": outcome(
        lambda: torch.jit.script(built_first)(x, edge_index)),
}
report["shim"] = pyg_jit_shim.status().verdict
print(json.dumps(report))
"""

# What BEYOND_2_5_3 reports without the shim on 2.5.0-2.5.3 (measured on each).
FAILS_WITHOUT_SHIM = {
    "keyword first, eager": "TypeError: propagate() got an unexpected keyword argument 'x'",
    "keyword first, scripted": "RuntimeError: undefined value x:",
    "optional edge_attr omitted, eager": "AssertionError",
    "restored, scripted": "NotSupportedError: Compiled functions can't take variable "
                          "number of arguments or use keyword-only arguments with defaults:",
    # Once the process built one: PyG generates at construction only.
    "restored, class built here first": "ok",
}
