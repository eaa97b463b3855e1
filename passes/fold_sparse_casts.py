"""fuseflow-fold-sparse-casts: make elementwise generics write sparse results directly."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.ir_utils import (
    erase_if_unused,
    is_sparse,
    ops_named,
    retype_result,
    unread_empty_init,
    users,
)
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register


@register
class FoldSparseCastsPass(ModulePass):
    """Fold `tensor.cast` to a sparse type into the dense linalg.generic that produces it.

    torch-mlir types a sparse elementwise result (relu(S), S+S, S*D) as a generic writing a
    dense `tensor.empty`, followed by `tensor.cast` to the sparse type. This pass makes the
    generic write a sparse `tensor.empty` of the cast's type and removes the cast, so that the
    sparse result is visible to sparsity propagation and to the SAM lowering.

    Preconditions: none (linalg-on-tensors IR as imported).
    Folds when: the cast's source is the single result of a `linalg.generic`, every user of that
    result is a `tensor.cast` to the same sparse type, the generic's init is a `tensor.empty`,
    and its body never reads the init (so the init's contents are irrelevant).
    Guarantees after: no such cast remains; the generic's result type carries the encoding;
    other casts are left untouched. A now-unused dense `tensor.empty` is erased.
    Options: none.
    """

    name = "fuseflow-fold-sparse-casts"

    def run(self, module: ir.Operation) -> None:
        for cast in ops_named(module, "tensor.cast"):
            self._fold(cast)

    def _fold(self, cast: ir.Operation) -> None:
        if not cast.attached:
            return  # erased while folding a sibling cast of the same generic
        target = cast.results[0].type
        if not is_sparse(target):
            return
        source = cast.operands[0]
        generic = source.owner.operation if isinstance(source, ir.OpResult) else None
        if generic is None or op_name(generic) != "linalg.generic" or len(generic.results) != 1:
            return
        casts = users(source)
        if any(op_name(u) != "tensor.cast" or u.results[0].type != target for u in casts):
            return
        empty = unread_empty_init(generic)
        if empty is None:
            return
        retype_result(generic, empty, target)
        for c in casts:
            c.results[0].replace_all_uses_with(generic.results[0])
            c.erase()
        erase_if_unused(empty)
