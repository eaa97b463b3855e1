"""Short, readable construction of ``sam`` graphs from Python.

A graph is a ``func.func`` from input tensors to output tensors. ``build_graph`` makes one and
hands the body a ``SamBuilder`` plus the tensor arguments::

    def spmv(b, A, x):                       # y(i) = A(i,j) * x(j)
        root = b.root()
        ci, ri = b.fiber_lookup(A, root, 0, "dense", "i")
        cj, rj = b.fiber_lookup(A, ri, 1, "compressed", "j")
        xr = b.repeat(root, ci)               # broadcast x's root over i
        cx, rx = b.fiber_lookup(x, xr, 0, "dense", "j")
        cj, (ra, rx) = b.intersect([cj, cx], [rj, rx], "j")
        y = b.reduce(b.alu("mul", b.array(A, ra), b.array(x, rx)))
        return [b.output(y_type, [b.fiber_write(ci, 0, "dense")], b.val_write(y))]

    module = build_graph("spmv", [A_type, x_type], [y_type], spmv)

which prints as generic-form ``sam`` ops, e.g.
``%3:2 = "sam.fiber_lookup"(%arg0, %0) {format = "dense", index = "i", level = 0 : i64} : ...``.
Every method verifies nothing by itself: call ``module.operation.verify()`` when done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from fuseflow.bindings import func, ir
from fuseflow.dialects import sam


class SamBuilder:
    """Creates ``sam`` ops at an insertion point (default: the current one).

    ``b.<mnemonic>(...)`` is the op class's ``make`` (``b.fiber_lookup(...)`` is
    ``sam.FiberLookupOp.make(b, ...)``: the signature lives next to the op in dialects/sam.py);
    ``repeat``, ``repeat_sig`` and ``write_tensor`` combine ops."""

    def __init__(self, ip: ir.InsertionPoint | None = None, loc: ir.Location | None = None):
        self.ip = ip
        self.loc = loc

    def kw(self) -> dict:
        """Where the ops go (the keywords of an op class's constructor)."""
        return {"ip": self.ip, "loc": self.loc}

    def __getattr__(self, name: str):
        cls = sam.OPS.get(f"sam.{name}")
        if cls is None:
            raise AttributeError(f"SamBuilder has no attribute or op {name!r}")
        return functools.partial(cls.make, self)

    def repeat_sig(self, stream: ir.Value, sig: ir.Value) -> ir.Value:
        """``sam.repeat`` of ``stream`` by the signal ``sig``."""
        return sam.RepeatOp.make(self, stream, sig)

    def repeat(self, stream: ir.Value, driver: ir.Value) -> ir.Value:
        """Broadcast ``stream`` over the loop whose crd (or ref) stream is ``driver``."""
        return self.repeat_sig(stream, self.repeat_sig_gen(driver))

    def write_tensor(self, tensor_type: ir.Type, crds: Sequence[ir.Value], val: ir.Value) -> ir.Value:
        """One fiber_write per level (formats from ``tensor_type``), a val_write and the output."""
        formats = sam.tensor_level_formats(tensor_type)
        if formats is None or len(formats) != len(crds):
            raise ValueError(f"{tensor_type} needs {len(formats or [])} crd streams, got {len(crds)}")
        levels = [self.fiber_write(c, i, f) for i, (c, f) in enumerate(zip(crds, formats, strict=True))]
        return self.output(tensor_type, levels, self.val_write(val))


GraphBody = Callable[..., Sequence[ir.Value]]


def build_graph(name: str, input_types: Sequence[ir.Type], result_types: Sequence[ir.Type], body: GraphBody,
                module: ir.Module | None = None) -> ir.Module:
    """A ``func.func @name`` whose body is ``body(builder, *tensor_args)`` (returning the output
    tensors), appended to ``module`` (a new module by default). Needs an active Context with the
    sam dialect loaded (``fuseflow.context.make_context()``) and a Location."""
    module = module or ir.Module.create()
    with ir.InsertionPoint(module.body):
        fn = func.FuncOp(name, ir.FunctionType.get(list(input_types), list(result_types)))
        block = fn.add_entry_block()
    with ir.InsertionPoint(block):
        outs = list(body(SamBuilder(), *block.arguments))
        func.ReturnOp(outs)
    return module
