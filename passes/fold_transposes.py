"""fuseflow-fold-transposes: read through transposes by permuting indexing maps."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.ir_utils import indexing_maps, num_inputs, ops_named, users
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register


def _source_positions(op: ir.Operation) -> list[int] | None:
    """For a transpose-like op, ``p`` such that ``result[x] == source[x[p[0]], x[p[1]], ...]``
    (source dim j is read at result position p[j]); None when ``op`` is not transpose-like."""
    name = op_name(op)
    if name == "linalg.transpose":
        perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
        p = [0] * len(perm)
        for i, j in enumerate(perm):  # result dim i is source dim perm[i]
            p[j] = i
        return p
    if name != "linalg.generic" or num_inputs(op) != 1 or len(op.results) != 1:
        return None
    in_map, out_map = indexing_maps(op)
    iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if not in_map.is_permutation or out_map != ir.AffineMap.get_identity(out_map.n_dims):
        return None
    if any("parallel" not in it for it in iterators):
        return None
    body = op.regions[0].blocks[0]
    ops = list(body.operations)
    if len(ops) != 1 or ops[0].operands[0] != body.arguments[0]:
        return None  # the body must be `linalg.yield %in`
    return [ir.AffineDimExpr(e).position for e in in_map.results]


@register
class FoldTransposesPass(ModulePass):
    """Fold transposes into the indexing maps of the linalg.generic ops that read them.

    torch-mlir lowers `x @ w.t()` and every `nn.Linear` to a transpose into a fresh tensor
    followed by a matmul. On a dataflow accelerator that transpose is a full materialization (a
    re-sort of a possibly sparse tensor); reading the source through a permuted affine map
    expresses the same computation with no copy and leaves the SAM lowering free to choose the
    loop order.

    Transpose-like producers: `linalg.transpose`, and the pure permutation copy that
    `linalg-generalize-named-ops` makes of it (one input read through a permutation map, an
    identity output map, all-parallel loops, body `linalg.yield %in`).
    Preconditions: consumers are `linalg.generic` (run `func.func(linalg-generalize-named-ops)`
    first); other consumers keep reading the transpose.
    Guarantees after: no generic reads a transpose-like result; each such read goes to the
    transpose's source through the composed map; a transpose left without users is erased.
    Options: none.
    """

    name = "fuseflow-fold-transposes"

    def run(self, module: ir.Operation) -> None:
        for producer in ops_named(module, "linalg.transpose") + ops_named(module, "linalg.generic"):
            if producer.attached:
                self._fold(producer)

    def _fold(self, producer: ir.Operation) -> None:
        p = _source_positions(producer)
        if p is None:
            return
        source, result = producer.operands[0], producer.results[0]
        for user in users(result):
            if op_name(user) != "linalg.generic":
                continue
            maps = indexing_maps(user)
            for k in range(num_inputs(user)):
                if user.operands[k] != result:
                    continue
                exprs = [maps[k].results[p[j]] for j in range(len(p))]
                maps[k] = ir.AffineMap.get(maps[k].n_dims, maps[k].n_symbols, exprs)
                user.operands[k] = source
            user.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])
        if not list(result.uses):
            producer.erase()
