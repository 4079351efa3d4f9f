"""patch()/unpatch() from one thread while others build layers."""

from pathlib import Path

from tests.helpers import environment, last_json, run_script

TOGGLE = r"""
import json, threading, time, torch, pyg_jit_shim
from torch import Tensor
from torch_geometric.nn import MessagePassing

THREADS, CLASSES = 8, 12
x = torch.randn(6, 4)
edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 0, 3]])
summed = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])


""" + "".join(f"""
def fresh_class_{thread}(decomposed):
    # A new class each time: every construction runs the generation step. One
    # class name per thread: PyG 2.5.0 alone (between unpatch() and patch())
    # writes each name's module to one fixed file, which threads sharing a
    # name clobber (#9025).
    class Fresh{thread}(MessagePassing):
        def __init__(self):
            super().__init__(aggr="add", decomposed_layers=decomposed)

        def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
            return self.propagate(edge_index, x=x)

    return Fresh{thread}
""" for thread in range(8)) + r"""

FRESH = [globals()["fresh_class_%d" % thread] for thread in range(THREADS)]

errors, wrong, built, builders = [], [], [0], []
start = threading.Barrier(THREADS + 1)
done = threading.Event()


def build(index):
    start.wait()
    for number in range(CLASSES):
        try:
            layer = FRESH[index](1 + (index + number) % 2)()
            layer.explain = False
            if not torch.allclose(layer(x, edge_index), summed):
                wrong.append(number)
            built[0] += 1
            # Which generator built the class: the shim's modules have no file.
            filename = type(layer).propagate.__code__.co_filename
            builders.append("shim" if filename.startswith("<pyg_jit_shim>") else "pyg")
        except Exception as error:
            errors.append(repr(error))


threads = [threading.Thread(target=build, args=(i,)) for i in range(THREADS)]
for thread in threads:
    thread.start()
start.wait()
toggles = 0
while any(thread.is_alive() for thread in threads):
    # A moment in each state, so that the builders run in both.
    pyg_jit_shim.unpatch()
    time.sleep(0.002)
    pyg_jit_shim.patch()
    time.sleep(0.002)
    toggles += 1
for thread in threads:
    thread.join()
print(json.dumps([errors[:5], len(errors), wrong, built[0], toggles,
                  sorted(set(builders)), pyg_jit_shim.status().verdict]))
"""


def test_toggling_while_threads_build_fresh_classes(tmp_path: Path) -> None:
    # From a file: on 2.5.1, PyG alone (between unpatch() and patch()) cannot
    # build classes whose source it cannot read (#9059).
    # PyG alone writes a file per class between unpatch() and patch().
    env = environment(TMPDIR=str(tmp_path), PYG_HOME=str(tmp_path))
    errors, count, wrong, built, toggles, builders, verdict = last_json(
        run_script(TOGGLE, tmp_path, env=env))
    assert (errors, count) == ([], 0)
    assert wrong == []
    assert built == 8 * 12
    # The toggling overlapped the constructions: classes were built by the
    # shim and, between unpatch() and patch(), by PyG itself.
    assert toggles >= 2 and builders == ["pyg", "shim"]
    assert verdict == "patched"
