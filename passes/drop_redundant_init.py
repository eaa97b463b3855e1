"""fuseflow-drop-redundant-init: remove initializations that no computation reads."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.body_analysis import is_fill
from fuseflow.passes.ir_utils import block_arg_used, is_sparse, num_inputs, ops_named, users
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register


def _init_reads(user: ir.Operation, value: ir.Value) -> bool | None:
    """For a linalg op using ``value`` only as an init (outs) operand: whether its body reads
    that init. None when ``value`` is used otherwise (an input, a non-linalg op)."""
    name = op_name(user)
    if not name.startswith("linalg.") or "operandSegmentSizes" not in user.attributes:
        return None
    n_in = num_inputs(user)
    positions = [i for i, v in enumerate(user.operands) if v == value]
    if any(i < n_in for i in positions):
        return None
    if name != "linalg.generic":
        return True  # named ops (matmul, fill, ...) accumulate into or overwrite their init
    return any(block_arg_used(user, i) for i in positions)


@register
class DropRedundantInitPass(ModulePass):
    """Remove `linalg.fill`s whose values are never read, and unused `tensor.empty`s.

    Fills are `linalg.fill` and its generalized form (a generic broadcasting a scalar).

    torch-mlir zero-fills the init of many ops; when the consumer is a `linalg.generic` whose
    body never reads its init block argument (every elementwise op), the fill is a dead store
    of a whole tensor that a dataflow lowering would otherwise materialize. This pass points
    such consumers at the fill's destination (`tensor.empty`) instead, erases fills left
    without users, and erases `tensor.empty`s without users. It also merges identical
    `tensor.empty`s (same type and operands) in a block so that each shape has one.

    A fill read by any consumer (a matmul or reduction accumulating into it) is kept for that
    consumer. Example::

        %f = linalg.fill ins(%c0 : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
        %r = linalg.generic ... outs(%f : tensor<4x4xf32>) { ... %out unused ... }
        // becomes
        %r = linalg.generic ... outs(%e : tensor<4x4xf32>) { ... }

    Preconditions: none. Guarantees: no remaining fill/empty without users; semantics kept.
    Options: none.
    """

    name = "fuseflow-drop-redundant-init"

    def run(self, module: ir.Operation) -> None:
        fills = [op for op in ops_named(module, "linalg.fill") + ops_named(module, "linalg.generic")
                 if is_fill(op)]
        for fill in fills:
            self._bypass(fill)
        self._merge_empties(module)
        self._split_sparse_empties(module)
        for op in fills + ops_named(module, "tensor.empty"):
            if op.attached and not any(True for r in op.results for _ in r.uses):
                op.erase()

    def _bypass(self, fill: ir.Operation) -> None:
        result = fill.results[0]
        dest = fill.operands[num_inputs(fill)]
        for user in users(result):
            if _init_reads(user, result) is False:
                for i, v in enumerate(user.operands):
                    if v == result:
                        user.operands[i] = dest

    def _merge_empties(self, module: ir.Operation) -> None:
        seen: dict[tuple[str, str], ir.Operation] = {}
        for empty in ops_named(module, "tensor.empty"):
            parent = empty.parent
            if empty.operands or op_name(parent) != "func.func" or is_sparse(empty.results[0].type):
                continue  # dynamic sizes, nested regions, sparse inits (see the class doc)
            key = (ir.StringAttr(parent.attributes["sym_name"]).value, str(empty.results[0].type))
            first = seen.setdefault(key, empty)
            if first is not empty:  # defined earlier in the same body, so it dominates
                empty.results[0].replace_all_uses_with(first.results[0])
                empty.erase()

    def _split_sparse_empties(self, module: ir.Operation) -> None:
        for empty in ops_named(module, "tensor.empty"):
            result = empty.results[0]
            if not is_sparse(result.type):
                continue
            for user in _in_program_order(users(result))[1:]:
                with ir.InsertionPoint(user), user.location:
                    fresh = ir.Operation.create("tensor.empty", results=[result.type],
                                                operands=list(empty.operands))
                for i, v in enumerate(user.operands):
                    if v == result:
                        user.operands[i] = fresh.results[0]


def _in_program_order(ops: list[ir.Operation]) -> list[ir.Operation]:
    """``ops`` sorted by position in the first op's block (unchanged when they are not all
    there), so which kernel keeps the original op is stable."""
    if not ops:
        return ops
    order = []
    for op in ops[0].parent.regions[0].blocks[0].operations:
        if any(op.operation == o for o in ops):
            order.append(op.operation)
    return order if len(order) == len(ops) else ops
