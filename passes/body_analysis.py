"""Helpers that read linalg.generic bodies and shapes (shared by the normalization passes)."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.ir_utils import indexing_maps, num_inputs

# Unary ops f with f(0) == 0.
ZERO_PRESERVING_UNARY = {
    "arith.negf", "arith.truncf", "arith.extf", "math.absf", "math.sqrt", "math.tanh",
    "math.sin", "math.erf", "math.atan", "math.expm1", "math.log1p",
}


def body_ops(generic: ir.Operation) -> list[ir.Operation]:
    """The body's operations without the terminator."""
    return [op.operation for op in generic.regions[0].blocks[0].operations][:-1]


def yielded(generic: ir.Operation) -> list[ir.Value]:
    return list(list(generic.regions[0].blocks[0].operations)[-1].operands)


def iterators(generic: ir.Operation) -> list[str]:
    return [str(a).strip('"').split("<")[-1].rstrip(">") for a in
            ir.ArrayAttr(generic.attributes["iterator_types"])]


def all_parallel(generic: ir.Operation) -> bool:
    return all(it == "parallel" for it in iterators(generic))


def float_constant(v: ir.Value) -> float | None:
    """The value of a scalar float ``arith.constant`` (splat allowed), else None."""
    if not isinstance(v, ir.OpResult):
        return None
    op = v.owner.operation
    if op_name(op) in ("arith.truncf", "arith.extf"):  # torch-mlir casts f64 scalars
        return float_constant(op.operands[0])
    if op_name(op) != "arith.constant":
        return None
    attr = op.attributes["value"]
    try:
        return ir.FloatAttr(attr).value
    except (ValueError, TypeError):
        pass
    try:
        dense = ir.DenseFPElementsAttr(attr)
        if dense.is_splat:
            return ir.FloatAttr(dense.get_splat_value()).value
    except (ValueError, TypeError):
        pass
    return None


def is_zero_preserving(generic: ir.Operation, index: int) -> bool:
    """Whether the generic's yielded value is 0 wherever its input ``index`` is 0, whatever the
    other inputs hold (so a sparse input's zeros stay zeros in the result)."""
    block = generic.regions[0].blocks[0]
    arg = block.arguments[index]
    inside = body_ops(generic)
    memo: dict[int, bool] = {}

    def zp(v: ir.Value) -> bool:
        if v == arg:
            return True
        c = float_constant(v)
        if c is not None:
            return c == 0.0
        if not isinstance(v, ir.OpResult):
            return False
        op = v.owner.operation
        pos = next((i for i, b in enumerate(inside) if b == op), None)
        if pos is None:
            return False
        if pos in memo:
            return memo[pos]
        name = op_name(op)
        ins = list(op.operands)
        if name == "arith.mulf":
            r = zp(ins[0]) or zp(ins[1])
        elif name == "arith.divf":
            r = zp(ins[0])
        elif name in ("arith.addf", "arith.subf", "arith.maximumf", "arith.maxnumf",
                      "arith.minimumf", "arith.minnumf"):
            r = zp(ins[0]) and zp(ins[1])
        elif name == "arith.select":
            r = zp(ins[1]) and zp(ins[2]) or _relu_select(op, zp)
        elif name in ZERO_PRESERVING_UNARY:
            r = zp(ins[0])
        else:
            r = False
        memo[pos] = r
        return r

    ys = yielded(generic)
    return len(ys) == 1 and zp(ys[0])


def _relu_select(select: ir.Operation, zp) -> bool:
    """``select(x > 0, x, 0)`` and friends: zero when x is zero."""
    cond, t, f = select.operands
    return zp(t) and float_constant(f) == 0.0


def identity_map(m: ir.AffineMap) -> bool:
    return m == ir.AffineMap.get_identity(m.n_dims) and m.n_dims > 0


def input_maps(generic: ir.Operation) -> list[ir.AffineMap]:
    return indexing_maps(generic)[: num_inputs(generic)]


def is_fill(op: ir.Operation) -> bool:
    """``linalg.fill``, or its generalized form: a generic broadcasting one scalar input."""
    name = op_name(op)
    if name == "linalg.fill":
        return True
    if name != "linalg.generic" or num_inputs(op) != 1 or len(op.results) != 1:
        return False
    t = op.operands[0].type
    if isinstance(t, ir.RankedTensorType) and t.rank > 0:
        return False
    ys = yielded(op)
    return all_parallel(op) and len(ys) == 1 and ys[0] == op.regions[0].blocks[0].arguments[0]


def is_constant_like(op: ir.Operation) -> bool:
    """A constant, or a cast of one (a scalar torch-mlir computes in f64 and truncates)."""
    return op_name(op) == "arith.constant" or (
        len(op.results) == 1 and float_constant(op.results[0]) is not None
    )
