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

from collections.abc import Callable, Sequence

from fuseflow.bindings import func, ir
from fuseflow.dialects import sam


def _str(value: str) -> ir.StringAttr:
    return ir.StringAttr.get(str(value))


def _i64(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


def _fmt(value) -> str:
    return value.value if isinstance(value, sam.LevelFormat) else str(value)


class SamBuilder:
    """Creates ``sam`` ops at an insertion point (default: the current one)."""

    def __init__(self, ip: ir.InsertionPoint | None = None, loc: ir.Location | None = None):
        self.ip = ip
        self.loc = loc

    def _kw(self) -> dict:
        return {"ip": self.ip, "loc": self.loc}

    # --- generators and scanners -----------------------------------------------------------
    def root(self) -> ir.Value:
        return sam.RootOp(sam.ref_type(), **self._kw()).out_ref

    def fiber_lookup(self, tensor: ir.Value, ref: ir.Value, level: int, fmt, index: str) -> tuple[ir.Value, ir.Value]:
        op = sam.FiberLookupOp(tensor, ref, _i64(level), _str(_fmt(fmt)), _str(index),
                               sam.crd_type(), sam.ref_type(), **self._kw())
        return op.out_crd, op.out_ref

    def locate(self, tensor: ir.Value, crd: ir.Value, payload: ir.Value, parent_ref: ir.Value, level: int,
               index: str) -> tuple[ir.Value, ir.Value, ir.Value]:
        """(passed-through payload, located ref, crd) for a dense level of ``tensor``."""
        op = sam.LocateOp(tensor, crd, payload, parent_ref, _i64(level), _str("dense"), _str(index),
                          payload.type, sam.ref_type(), sam.crd_type(), **self._kw())
        return op.out_ref, op.out_located, op.out_crd

    # --- joiners ------------------------------------------------------------------------------
    def _joiner(self, cls, crds, payloads, index):
        # The op holds ref payloads before val payloads (crds reordered alike); results come back
        # in the caller's order.
        crds, payloads = list(crds), list(payloads)
        if len(crds) != len(payloads):
            raise ValueError(f"{len(crds)} crd streams but {len(payloads)} payloads")
        kinds = [sam.stream_kind(p) for p in payloads]
        order = [i for i, k in enumerate(kinds) if k != "val"] + [i for i, k in enumerate(kinds) if k == "val"]
        refs = [payloads[i] for i in order if kinds[i] != "val"]
        vals = [payloads[i] for i in order if kinds[i] == "val"]
        op = cls([crds[i] for i in order], refs, vals, _str(index), sam.crd_type(), [p.type for p in refs],
                 [p.type for p in vals], **self._kw())
        outs = op.out_payloads
        result = [None] * len(payloads)
        for pos, i in enumerate(order):
            result[i] = outs[pos]
        return op.out_crd, result

    def intersect(self, crds: Sequence[ir.Value], payloads: Sequence[ir.Value], index: str):
        """(crd, [payloads]) over the coordinates present in every input; payloads are ref or val
        streams in any order (the op stores refs first, the result follows ``payloads``)."""
        return self._joiner(sam.IntersectOp, crds, payloads, index)

    def union(self, crds: Sequence[ir.Value], payloads: Sequence[ir.Value], index: str):
        """(crd, [payloads]) over the coordinates present in any input."""
        return self._joiner(sam.UnionOp, crds, payloads, index)

    # --- repeat -------------------------------------------------------------------------------
    def repeat_sig_gen(self, stream: ir.Value) -> ir.Value:
        return sam.RepeatSigGenOp(stream, sam.repsig_type(), **self._kw()).out_sig

    def repeat_sig(self, stream: ir.Value, sig: ir.Value) -> ir.Value:
        return sam.RepeatOp(stream, sig, stream.type, **self._kw()).out

    def repeat(self, stream: ir.Value, driver: ir.Value) -> ir.Value:
        """Broadcast ``stream`` over the loop whose crd (or ref) stream is ``driver``."""
        return self.repeat_sig(stream, self.repeat_sig_gen(driver))

    # --- values -------------------------------------------------------------------------------
    def array(self, tensor: ir.Value, ref: ir.Value, tile: Sequence[int] = ()) -> ir.Value:
        elem = ir.RankedTensorType(tensor.type).element_type
        return sam.ArrayOp(tensor, ref, sam.val_type(elem, tile), **self._kw()).out_val

    def alu(self, kind, *ins: ir.Value, scalar: float | None = None) -> ir.Value:
        kind = kind.value if isinstance(kind, sam.AluKind) else str(kind)
        op = sam.AluOp(list(ins), _str(kind), ins[0].type, **self._kw())
        if scalar is not None:
            elem = sam.val_elem_type(ins[0].type)
            op.operation.attributes["scalar"] = ir.FloatAttr.get(elem, float(scalar))
        return op.out_val

    def reduce(self, val: ir.Value, kind="add") -> ir.Value:
        kind = kind.value if isinstance(kind, sam.ReduceKind) else str(kind)
        return sam.ReduceOp(val, _str(kind), val.type, **self._kw()).out_val

    def spacc(self, crds: Sequence[ir.Value], val: ir.Value) -> tuple[list[ir.Value], ir.Value]:
        """Sparse accumulator of order ``len(crds) - 1`` (crds innermost first, reduced last)."""
        order = len(crds) - 1
        op = sam.SpaccOp(list(crds), val, _i64(order), [sam.crd_type()] * order, val.type, **self._kw())
        return list(op.out_crds), op.out_val

    # --- coordinate filters -------------------------------------------------------------------
    def crd_drop(self, outer: ir.Value, inner: ir.Value) -> tuple[ir.Value, ir.Value]:
        op = sam.CrdDropOp(outer, inner, sam.crd_type(), sam.crd_type(), **self._kw())
        return op.out_outer, op.out_inner

    def crd_hold(self, outer: ir.Value, inner: ir.Value) -> tuple[ir.Value, ir.Value]:
        op = sam.CrdHoldOp(outer, inner, sam.crd_type(), sam.crd_type(), **self._kw())
        return op.out_outer, op.out_inner

    # --- writers and outputs ------------------------------------------------------------------
    def fiber_write(self, crd: ir.Value, level: int, fmt) -> ir.Value:
        return sam.FiberWriteOp(crd, _i64(level), _str(_fmt(fmt)), sam.level_type(), **self._kw()).out

    def val_write(self, val: ir.Value) -> ir.Value:
        return sam.ValWriteOp(val, sam.values_type(), **self._kw()).out

    def output(self, tensor_type: ir.Type, levels: Sequence[ir.Value], values: ir.Value) -> ir.Value:
        return sam.OutputOp(list(levels), values, tensor_type, **self._kw()).tensor

    def write_tensor(self, tensor_type: ir.Type, crds: Sequence[ir.Value], val: ir.Value) -> ir.Value:
        """One fiber_write per level (formats from ``tensor_type``), a val_write and the output."""
        formats = sam.tensor_level_formats(tensor_type)
        if formats is None or len(formats) != len(crds):
            raise ValueError(f"{tensor_type} needs {len(formats or [])} crd streams, got {len(crds)}")
        levels = [self.fiber_write(c, i, f) for i, (c, f) in enumerate(zip(crds, formats, strict=True))]
        return self.output(tensor_type, levels, self.val_write(val))

    # --- parallelism --------------------------------------------------------------------------
    def fork(self, stream: ir.Value, lanes: int) -> list[ir.Value]:
        return list(sam.ForkOp(stream, _i64(lanes), [stream.type] * lanes, **self._kw()).outs)

    def join(self, lanes: Sequence[ir.Value], depth: int = 0) -> ir.Value:
        """Merge lane streams; ``depth`` = loop levels below the forked level (see ``JoinOp``)."""
        return sam.JoinOp(list(lanes), _i64(len(lanes)), _i64(depth), lanes[0].type, **self._kw()).out


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
