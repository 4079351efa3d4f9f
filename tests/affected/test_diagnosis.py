"""A layer whose propagate() cannot be generated says so once, with the cause."""

import importlib.util
import logging
import sys
from types import ModuleType
from typing import List

import pytest
import torch

from tests.helpers import environment, graph, last_json, run_python
from tests.layers import broken, custom_propagate


def _records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pyg_jit_shim"]


def _modules_with(prefix: str) -> List[str]:
    return [name for name in sys.modules if name.startswith(prefix)]


def test_local_type_reported_once_per_class(caplog: pytest.LogCaptureFixture) -> None:
    cls = broken.make_local_type_layer()
    x, edge_index = graph()
    with caplog.at_level(logging.WARNING, logger="pyg_jit_shim"):
        layers = [cls() for _ in range(3)]
    records = _records(caplog)
    assert len(records) == 1
    message = records[0].getMessage()
    assert records[0].levelno == logging.WARNING
    assert "LocalTypeConv" in message
    assert "NameError" in message and "LocalWeight" in message
    # Eager keeps working, with PyG's fallback propagate(), as on 2.5.3.
    for layer in layers:
        assert torch.allclose(layer(x, edge_index), layers[0](x, edge_index))
    assert _modules_with("tests.layers.broken_LocalTypeConv") == []


def test_a_second_class_is_reported_again(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyg_jit_shim"):
        broken.make_local_type_layer()()
        broken.make_local_type_layer()()
    assert len(_records(caplog)) == 2


def _fresh_copy(module: ModuleType) -> ModuleType:
    """``module`` loaded anew under a name of its own: classes that no other
    test of this process has built (each class is reported once)."""
    name = f"{module.__name__}_fresh_{len(sys.modules)}"
    spec = importlib.util.spec_from_file_location(name, module.__file__ or "")
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    sys.modules[name] = fresh
    spec.loader.exec_module(fresh)
    return fresh


def test_code_that_does_not_compile(caplog: pytest.LogCaptureFixture) -> None:
    layers = _fresh_copy(broken)
    with caplog.at_level(logging.WARNING, logger="pyg_jit_shim"):
        layer = layers.KeywordNamedArgument()
        layers.KeywordNamedArgument()
    records = _records(caplog)
    assert len(records) == 1
    message = records[0].getMessage()
    assert "KeywordNamedArgument" in message
    assert "SyntaxError" in message
    assert "'lambda: Tensor,'" in message  # the generated line at fault
    assert _modules_with(f"{layers.__name__}_KeywordNamedArgument") == []
    x, edge_index = graph()
    assert torch.equal(layer(x, edge_index), layer(x, edge_index))


def test_own_propagate_is_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pyg_jit_shim"):
        custom_propagate.OwnPropagate()
    assert _records(caplog) == []


def test_strict_raises_at_construction() -> None:
    result = run_python("""
        import json, sys
        import pyg_jit_shim, torch_geometric
        from tests.layers import broken
        from tests.layers.custom_propagate import OwnPropagate
        OwnPropagate()  # deliberate: never an error
        outcome = []
        for make in (broken.make_local_type_layer(), broken.KeywordNamedArgument):
            try:
                make()
                outcome.append(None)
            except pyg_jit_shim.GenerationError as error:
                outcome.append([str(error), type(error.__cause__).__name__])
        left = [m for m in sys.modules if m.startswith("tests.layers.broken_")]
        print(json.dumps([outcome, left, pyg_jit_shim.status().mode]))
    """, env=environment(PYG_JIT_SHIM="strict"))
    (local, syntax), left, mode = last_json(result)
    assert mode == "strict"
    assert "LocalTypeConv" in local[0] and local[1] == "NameError"
    assert "KeywordNamedArgument" in syntax[0] and syntax[1] == "SyntaxError"
    assert left == []


def test_unreadable_source_keeps_eager_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    # As in a notebook cell run through exec(): inspect cannot read the class.
    namespace: dict = {}
    exec(
        "from torch import Tensor\n"
        "from torch_geometric.nn import MessagePassing\n"
        "class ExecConv(MessagePassing):\n"
        "    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:\n"
        "        return self.propagate(edge_index, x=x)\n",
        namespace,
    )
    x, edge_index = graph()
    with caplog.at_level(logging.WARNING, logger="pyg_jit_shim"):
        layer = namespace["ExecConv"]()
    out = layer(x, edge_index)  # 2.5.1 alone: TypeError, propagate() takes no x
    expected = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
    assert torch.allclose(out, expected, atol=1e-6)
    (record,) = _records(caplog)
    assert "ExecConv" in record.getMessage()
    assert "cannot read the class's source" in record.getMessage()
