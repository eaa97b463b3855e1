"""The classic kernels as simulator graphs, read from their one definition.

The kernels are the sam-dialect graphs of ``fuseflow.dialects.sam_examples`` (checked in for
the lit tests under ``test/lit/dialects/sam/graphs/``), converted by ``from_mlir``.
``graph("spmv")`` names the inputs and the output as in the kernel's formula (``A``, ``x`` ->
``out``; ``sam_examples.TENSORS``) and leaves the sizes to the tensors bound at run time: the
MLIR graph has its example's static sizes, which would refuse any other input, so every output
dimension takes the size of the first input dimension with the same index instead.

    >>> from fuseflow.sim import examples, simulate_graph
    >>> res = simulate_graph(examples.graph("spmv"), {"A": A_csr, "x": x}, check=True)
"""

from __future__ import annotations

import copy
import functools

from fuseflow.sim.graph import Graph


def names() -> list[str]:
    """The kernels, as ``sam_examples.GRAPHS`` names them."""
    from fuseflow.dialects import sam_examples

    return list(sam_examples.GRAPHS)


def graph(name: str) -> Graph:
    """The simulator graph of kernel ``name`` (a fresh copy: callers may rename its tensors)."""
    return copy.deepcopy(_read(name))


@functools.cache
def _read(name: str) -> Graph:
    from fuseflow.bindings import ir
    from fuseflow.context import make_context
    from fuseflow.dialects import sam_examples
    from fuseflow.dialects.sam_graph import sam_functions
    from fuseflow.sim.from_mlir import graph_from_func

    with make_context(), ir.Location.unknown():
        module = sam_examples.GRAPHS[name]()  # held: the function's ops live in it
        (func,) = sam_functions(module)
        g = graph_from_func(func)
    *inputs, (out_name, out_indices) = sam_examples.TENSORS[name]
    dims: dict[str, tuple[str, int]] = {}
    for spec, (tensor, indices) in zip(g.inputs, inputs, strict=True):
        spec.name, spec.shape = tensor, ()
        for d, index in enumerate(indices):
            dims.setdefault(index, (tensor, d))
    (out,) = g.outputs
    out.name, out.shape = out_name, tuple(dims[index] for index in out_indices)
    return g
