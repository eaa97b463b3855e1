"""fuseflow-propagate-sparsity: give zero-preserving elementwise results a sparse type."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.body_analysis import (
    all_parallel,
    identity_map,
    input_maps,
    is_zero_preserving,
)
from fuseflow.passes.ir_utils import (
    encoding,
    erase_if_unused,
    num_inputs,
    ops_named,
    retype_result,
    unread_empty_init,
    users,
)
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register


@register
class PropagateSparsityPass(ModulePass):
    """Give zero-preserving elementwise generics the encoding of their sparse input.

    An elementwise linalg.generic writes a sparse result when a sparse input's zeros stay
    zeros in the result.

    Rule: an all-parallel `linalg.generic` with one result whose init is a `tensor.empty` that
    the body does not read gets the encoding of a sparse input `S` when
      - `S` is read through the identity map and has the result's shape, and
      - the body is zero-preserving in `S` (the yield is 0 whenever `S` is 0, whatever the
        other inputs hold): products (`S * D`, `S * 2.0`), quotients `S / D`, negation, relu
        (`select(S > 0, S, 0)`, `max(S, 0)`), gelu (`S * 0.5 * (1 + erf(...))`), tanh, erf,
        sqrt, casts, and sums/differences of zero-preserving terms.
    Deterministic format choice: the result takes the encoding of the FIRST qualifying input
    in operand order (`S1 * S2` takes `S1`'s format). Results of contractions (matmul) and of
    non-zero-preserving ops (`S + D`, `exp(S)`) stay dense. Ops are visited in program order, so
    chains propagate (`relu(S * D) * 2` is sparse end to end).
    A result also read by a non-linalg op (a reshape, ...) stays dense.
    Function results keep their types: a sparse value that is returned goes through a
    `sparse_tensor.convert` to the returned (dense) type.

    Example (`S` CSR)::

        %r = linalg.generic ... ins(%S, %D : tensor<8x8xf32, #csr>, tensor<8x8xf32>)
               outs(%e : tensor<8x8xf32>) { mulf } -> tensor<8x8xf32>
        // becomes
        %e2 = tensor.empty() : tensor<8x8xf32, #csr>
        %r = linalg.generic ... outs(%e2 : tensor<8x8xf32, #csr>) -> tensor<8x8xf32, #csr>

    Preconditions: linalg-on-tensors IR. Guarantees: types only change as above; the IR
    verifies. Options: none.
    """

    name = "fuseflow-propagate-sparsity"

    def run(self, module: ir.Operation) -> None:
        for generic in ops_named(module, "linalg.generic"):
            self._propagate(generic)

    def _propagate(self, generic: ir.Operation) -> None:
        if len(generic.results) != 1 or not all_parallel(generic):
            return
        result = generic.results[0]
        rtype = ir.RankedTensorType(result.type)
        if encoding(rtype) is not None:
            return
        n_in = num_inputs(generic)
        empty = unread_empty_init(generic)
        if empty is None:
            return
        maps = input_maps(generic)
        chosen = None
        for k in range(n_in):
            t = generic.operands[k].type
            if encoding(t) is None or not identity_map(maps[k]):
                continue
            if list(ir.RankedTensorType(t).shape) != list(rtype.shape):
                continue
            if is_zero_preserving(generic, k):
                chosen = ir.RankedTensorType(t).encoding
                break
        if chosen is None:
            return
        if any(not op_name(u).startswith("linalg.") and op_name(u) != "func.return"
               for u in users(result)):
            return  # e.g. a reshape: keep its operand type as it is
        sparse_type = ir.RankedTensorType.get(rtype.shape, rtype.element_type, chosen)
        retype_result(generic, empty, sparse_type)
        for user in users(result):
            if op_name(user) != "func.return":
                continue
            with ir.InsertionPoint(user), user.location:
                conv = ir.Operation.create("sparse_tensor.convert", results=[rtype], operands=[result])
            for i, v in enumerate(user.operands):
                if v == result:
                    user.operands[i] = conv.results[0]
        erase_if_unused(empty)
