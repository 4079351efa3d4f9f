"""``nox -s demo``: torch.jit.script(GCNConv) on the installed PyG, with the
shim as ``PYG_JIT_SHIM`` says (run it with ``PYG_JIT_SHIM=off`` for PyG alone).

Prints the release and the shim's verdict, then one line: ok, or the error
whole: TorchScript's message, and the line of code it points at.
"""

import re
import warnings

import pyg_jit_shim  # before torch_geometric, as in a service

# TorchScript's errors: "<message>:" then '  File "<path>", line <n>', some
# source lines, and a marker line under the offending part.
_WHERE = re.compile(r'File "(?:.*/site-packages/)?([^"]+)", line (\d+)')


def one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0].rstrip().rstrip(':')}"
    where = next((match for match in map(_WHERE.search, lines) if match), None)
    marked = [i for i, line in enumerate(lines) if line.rstrip().endswith("<--- HERE")]
    if where is None or not marked or marked[0] == 0:
        return message
    code = lines[marked[0] - 1].strip()
    return f"{message}, at `{code}` in {where.group(1)} line {where.group(2)}"


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.jit's own
    import torch
    from torch_geometric.nn import GCNConv

    state = pyg_jit_shim.status()
    print(f"PyG {state.pyg_version}, shim: {state.verdict}")
    try:
        torch.jit.script(GCNConv(16, 16))
    except Exception as error:
        print(f"torch.jit.script(GCNConv(16, 16)) failed: {one_line(error)}")
    else:
        print("torch.jit.script(GCNConv(16, 16)): ok")


if __name__ == "__main__":
    main()
