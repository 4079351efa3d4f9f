"""Patch ``properties``: PyG 2.5.3's ``explain`` and ``decomposed_layers`` setters.

2.5.0-2.5.2 assume the class already carries ``_orig_propagate`` and
``_jinja_propagate``, which is not so for a layer restored by ``torch.load`` in a
process that never built its class; they also store a bound ``propagate`` on
the instance on every construction. 2.5.3 returns early when nothing changes
and only switches ``propagate`` when the class has the attributes.

A layer that PyG's own ``__init__`` is building (the construction patch is not
in effect: skipped, or undone meanwhile) has no ``_decomposed_layers`` yet;
its own setter is what that ``__init__`` was written for, so it gets that one.
"""

from typing import Any, Optional

import torch

from ..pyg_objects import PyG
from ..recording import Recorder

_NAMES = ("decomposed_layers", "explain")


def check(pyg: PyG) -> Optional[str]:
    if pyg.MessagePassing is None:
        return "torch_geometric has no MessagePassing"
    for name in _NAMES:
        prop = vars(pyg.MessagePassing).get(name)
        if not isinstance(prop, property) or prop.fget is None or prop.fset is None:
            return f"MessagePassing.{name} is not a settable property"
    return None


def apply(pyg: PyG, recorder: Recorder, strict: bool) -> None:
    # fix: load-compat
    base = pyg.MessagePassing

    def use(layer: Any, attribute: str) -> None:
        method = getattr(type(layer), attribute, None)
        if method is not None:
            layer.propagate = method.__get__(layer, base)

    pygs_setter = vars(base)["decomposed_layers"].fset

    # TorchScript compiles property setters along with the module; the leading
    # is_scripting() branch is what keeps it from compiling the Python-only rest.
    def set_decomposed_layers(self: Any, decomposed_layers: int) -> None:
        if torch.jit.is_scripting():
            raise ValueError("decomposed_layers can only be set on the Python module")
        if "_decomposed_layers" not in self.__dict__:
            pygs_setter(self, decomposed_layers)
            return
        if decomposed_layers == self._decomposed_layers:
            return
        self._decomposed_layers = decomposed_layers
        if decomposed_layers != 1:
            use(self, "_orig_propagate")
        elif self.explain is None or self.explain is False:
            use(self, "_jinja_propagate")

    def set_explain(self: Any, explain: Optional[bool]) -> None:
        if torch.jit.is_scripting():
            raise ValueError("explain can only be set on the Python module")
        if explain == self._explain:
            return
        self._explain = explain
        if explain is True:
            assert self.decomposed_layers == 1
            self.inspector.remove_signature(self.explain_message)
            self.inspector.inspect_signature(self.explain_message, exclude=[0])
            self._user_args = self.inspector.get_flat_param_names(
                funcs=["message", "explain_message", "aggregate", "update"],
                exclude=self.special_args,
            )
            use(self, "_orig_propagate")
        else:
            self._user_args = self.inspector.get_flat_param_names(
                funcs=["message", "aggregate", "update"], exclude=self.special_args
            )
            if self.decomposed_layers == 1:
                use(self, "_jinja_propagate")

    for name, setter in zip(_NAMES, (set_decomposed_layers, set_explain)):
        old = vars(base)[name]
        recorder.replace(base, name, property(old.fget, setter, old.fdel, old.__doc__))

