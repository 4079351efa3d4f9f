"""The modules a layer class's generated code must see."""

from typing import Any, Collection, Dict, List


def module_chain(cls: type, roots: Collection[type]) -> List[str]:
    """Modules of ``cls`` and its bases, bases first, as PyG 2.5.3 lists them.

    ``roots`` (object, torch.nn.Module, MessagePassing) end the walk. Repeats
    are kept: ``from m import *`` in this order gives 2.5.3's name bindings.
    """
    modules: List[str] = []
    for base in cls.__bases__:
        if base not in roots:
            modules.extend(module_chain(base, roots))
    modules.append(cls.__module__)
    return modules


def merged_namespace(modules: List[str], loaded: Dict[str, Any]) -> Dict[str, Any]:
    """The globals of ``modules``, later ones winning, private names included."""
    namespace: Dict[str, Any] = {}
    for name in modules:
        module = loaded.get(name)
        if module is not None:
            namespace.update(vars(module))
    return namespace
