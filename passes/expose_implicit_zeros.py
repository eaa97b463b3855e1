"""fuseflow-expose-implicit-zeros: max/min reductions over a sparse operand see its zeros."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.dialects.sam import tensor_level_formats
from fuseflow.passes.body_analysis import body_ops, iterators, yielded
from fuseflow.passes.ir_utils import encoding, indexing_maps, num_inputs, splice_function
from fuseflow.passes.lowering import level_dims
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register

# x <op> bound, elementwise: bound is a dense constant of x's reduced dimensions holding the
# reduction's identity, so stored entries keep their value and absent ones become 0.
_TEMPLATE = """
func.func @expose(%x: {X}) -> {D} {{
  %bound = arith.constant dense<{BOUND}> : {B}
  %e = tensor.empty() : {D}
  %r = linalg.generic {{indexing_maps = [{ID}, {BM}, {ID}], iterator_types = [{PAR}]}}
      ins(%x, %bound : {X}, {B}) outs(%e : {D}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = {OP} %a, %b : f32
    linalg.yield %m : f32
  }} -> {D}
  return %r : {D}
}}
"""
_EXTREMA = {"arith.maximumf": "0xFF800000", "arith.maxnumf": "0xFF800000",
            "arith.minimumf": "0x7F800000", "arith.minnumf": "0x7F800000"}


def _extremum(generic: ir.Operation) -> str | None:
    """The combining op of a max/min reduction (first result ``combine(x, acc)``), else None."""
    if "reduction" not in iterators(generic) or num_inputs(generic) != 1:
        return None
    block = generic.regions[0].blocks[0]
    first = yielded(generic)[0]
    if not isinstance(first, ir.OpResult):
        return None
    combine = first.owner
    name = op_name(combine)
    if name not in _EXTREMA or combine not in [o for o in body_ops(generic)]:
        return None
    if set(combine.operands) != {block.arguments[0], block.arguments[1]}:
        return None
    return name


def _sparse_reduced_dims(generic: ir.Operation) -> list[int] | None:
    """The dimensions of the input that reduction loops index, when the input is sparse (some
    level is not dense); else None."""
    x = generic.operands[0]
    if encoding(x.type) is None:
        return None
    its = iterators(generic)
    m = indexing_maps(generic)[0]
    reduced = []
    for d, e in enumerate(m.results):
        try:
            loop = ir.AffineDimExpr(e).position
        except (ValueError, TypeError):
            return None
        if its[loop] == "reduction":
            reduced.append(d)
    if not reduced:
        return None
    if level_dims(x.type) is None:
        return None  # blocked formats are left to the lowering's error
    # one level that is not dense leaves entries out of some fiber of every reduced dimension
    # (a row of a CSC matrix misses entries too): the union must cover them
    sparse = any(str(f) != "dense" for f in tensor_level_formats(x.type))
    return reduced if sparse else None


@register
class ExposeImplicitZerosPass(ModulePass):
    """Make max/min reductions over a sparse operand account for its implicit zeros.

    A max (or min) over a dimension in which the operand stores only some entries must still
    see the zeros it does not store; the SAM lowering keeps zeros implicit, and a reduction
    over the stored entries only would ignore them. This pass rewrites the reduction's input
    `x` into `max(x, bound)` (`min` for a min), an elementwise `linalg.generic` whose second
    input `bound` is a dense constant over x's reduced dimensions holding the reduction's
    identity (-inf for max, +inf for min): the lowering co-iterates x with it as a union, which
    covers the whole dimension, stored entries keep their value and absent ones read as 0.
    The new generic's result is dense, its levels in x's storage order. Reductions over stored entries only
    (`sparse_tensor.reduce`) are left alone.

    Preconditions: named ops generalized; f32 values. Guarantees after: no max/min reduction
    reads an operand that is sparse along a reduced dimension; the function computes the same
    values (max(x, -inf) == x). Options: none.
    """

    name = "fuseflow-expose-implicit-zeros"

    def run(self, module: ir.Operation) -> None:
        found = []

        def visit(op):
            if op_name(op) == "linalg.generic":
                name = _extremum(op.operation)
                dims = _sparse_reduced_dims(op.operation) if name else None
                if dims is not None:
                    found.append((op.operation, name, dims))
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for generic, name, dims in found:
            self._rewrite(generic, name, dims)

    def _rewrite(self, generic: ir.Operation, name: str, dims: list[int]) -> None:
        x = generic.operands[0]
        xt = ir.RankedTensorType(x.type)
        if str(xt.element_type) != "f32" or not xt.has_static_shape:
            return
        shape = list(xt.shape)
        rank = len(shape)
        loops = ", ".join(f"d{d}" for d in range(rank))
        bshape = "x".join(str(shape[d]) for d in dims)
        order = level_dims(x.type)
        dense = f"tensor<{'x'.join(str(s) for s in shape)}xf32"
        if order != list(range(rank)):  # keep x's level order: readers may need it
            lvls = ", ".join(f"d{d} : dense" for d in order)
            dense += f", #sparse_tensor.encoding<{{ map = ({loops}) -> ({lvls}) }}>"
        text = _TEMPLATE.format(
            X=str(xt), D=dense + ">", B=f"tensor<{bshape}xf32>",
            BOUND=_EXTREMA[name], OP=name, PAR=", ".join(['"parallel"'] * rank),
            ID=f"affine_map<({loops}) -> ({loops})>",
            BM=f"affine_map<({loops}) -> ({', '.join(f'd{d}' for d in dims)})>",
        )
        (exposed,), _ = splice_function(text, [x], generic)
        generic.operands[0] = exposed
