"""fuseflow-reassociate: re-associate chains of two contractions, `A @ (X @ W)` <-> `(A @ X) @ W`."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.body_analysis import float_constant, is_fill, iterators
from fuseflow.passes.ir_utils import erase_if_unused, indexing_maps, splice_function
from fuseflow.passes.pass_base import ModulePass, Option
from fuseflow.passes.registry import register

ASSOCIATIONS = ("keep", "left", "right")
_ROW, _COL, _RED = 0, 1, 2  # the loops of a contraction: out[row, col] = sum_red lhs * rhs


@register
class ReassociatePass(ModulePass):
    """Re-associate chains of two matrix contractions (`linalg.generic`s that compute
    `out[m,n] = sum_k lhs * rhs` into a zero fill, operands in any storage order).

    `to=left` rewrites `A @ (X @ W)` (the inner product used only there) into `(A @ X) @ W`;
    `to=right` the reverse; `to=keep` changes nothing. Chains of more contractions are rewritten
    until no pair is left in the other association. The new intermediate is dense and starts
    from a fresh zero fill; the outer contraction keeps its init. The arithmetic is the same up
    to float rounding (sums are formed in another order), so the pass is a schedule choice:
    `(A @ X) @ W` is how FuseFlow's GCN computes a layer, `A @ (X @ W)` how PyG's GCNConv does.

    Preconditions: generalized linalg (run after `linalg-generalize-named-ops` and
    `fuseflow-fold-transposes`). Guarantees after: the function computes what it computed
    before (up to rounding); new ops carry `fuseflow.kind` ("matmul", "fill").
    """

    name = "fuseflow-reassociate"
    to = Option(str, "keep", "left: (A @ X) @ W; right: A @ (X @ W); keep: as written", choices=list(ASSOCIATIONS))

    def run(self, module: ir.Operation) -> None:
        if self.to == "keep":
            return
        changed = True
        while changed:
            changed = False
            for fn in module.regions[0].blocks[0].operations:
                if op_name(fn) != "func.func" or not fn.regions[0].blocks:
                    continue
                for op in list(fn.regions[0].blocks[0].operations):
                    if self._rewrite(op.operation):
                        changed = True
                        break

    def _rewrite(self, outer: ir.Operation) -> bool:
        c2 = contraction(outer)
        if c2 is None:
            return False
        feeds = 1 if self.to == "left" else 0  # the operand of the outer op the inner one is
        inner_value = outer.operands[feeds]
        if not isinstance(inner_value, ir.OpResult) or len(list(inner_value.uses)) != 1:
            return False
        inner = inner_value.owner.operation
        c1 = contraction(inner)
        if c1 is None:
            return False
        # name every loop: the outer's m (row), n (col), k (red); the inner's reduction J; the
        # inner's row and col are the outer loops its result is read at (in either order)
        outer_names = {_ROW: "m", _COL: "n", _RED: "k"}
        a, b = c2.dims[feeds]
        inner_names = {_ROW: outer_names[a], _COL: outer_names[b], _RED: "J"}
        sizes = {outer_names[d]: n for d, n in loop_sizes(outer, c2).items()}
        sizes["J"] = loop_sizes(inner, c1)[_RED]

        def named(c, n, names):
            v, dims = c.operand(n)
            return v, tuple(names[d] for d in dims)

        # of the inner operands, p shares the outer reduction k; q the outer's other loop
        p, q = (named(c1, n, inner_names) for n in (0, 1))
        if "k" not in p[1]:
            p, q = q, p
        if self.to == "left":
            # out = L2 @ (p q)  ->  S[m,J] = sum_k L2 p, out[m,n] = sum_J S q
            other = named(c2, 0, outer_names)
            s_loops, out_loops = ("m", "J", "k"), ("m", "n", "J")
            first = [other, p]
            s_names = ("m", "J")
            second = [("%s", s_names), q]
        else:
            # out = (q p) @ R2  ->  S[J,n] = sum_k p R2, out[m,n] = sum_J q S
            other = named(c2, 1, outer_names)
            s_loops, out_loops = ("J", "n", "k"), ("m", "n", "J")
            first = [p, other]
            s_names = ("J", "n")
            second = [q, ("%s", s_names)]
        def to_dims(ops, loops):  # loop names -> positions in the new op's loops
            return [(v, tuple(loops.index(x) for x in names)) for v, names in ops]

        elem = str(ir.RankedTensorType(outer.results[0].type).element_type)
        init = outer.operands[2]
        text, args = _chain_text(to_dims(first, s_loops), to_dims(second, out_loops),
                                 [sizes[x] for x in s_names], elem, init)
        (result,), _ = splice_function(text, args, outer)
        outer.results[0].replace_all_uses_with(result)
        old_inits = [outer.operands[2], inner.operands[2]]
        outer.erase()
        inner.erase()
        for v in old_inits:
            if isinstance(v, ir.OpResult):
                _erase_fill_chain(v.owner.operation)
        return True


class Contraction:
    """A matrix contraction generic: its two inputs and, for each, the loop (row, col, red)
    of each of its dimensions."""

    def __init__(self, op: ir.Operation, dims: tuple[tuple[int, ...], tuple[int, ...]]):
        self.op, self.dims = op, dims

    def operand(self, n: int) -> tuple[ir.Value, tuple[int, ...]]:
        return self.op.operands[n], self.dims[n]


def contraction(op: ir.Operation) -> Contraction | None:
    """``op`` as a contraction (two inputs, out[row, col] += lhs * rhs, the lhs indexing row
    and red, the rhs col and red, the init a zero fill), or None."""
    if op_name(op) != "linalg.generic" or len(op.operands) != 3 or len(op.results) != 1:
        return None
    if iterators(op) != ["parallel", "parallel", "reduction"]:
        return None
    try:
        dims = [tuple(ir.AffineDimExpr(e).position for e in m.results) for m in indexing_maps(op)]
    except (ValueError, TypeError):
        return None
    if dims[2] != (_ROW, _COL) or sorted(dims[0]) != [_ROW, _RED] or sorted(dims[1]) != [_COL, _RED]:
        return None
    if not _is_multiply_add(op) or not _is_zero_fill(op.operands[2]):
        return None
    return Contraction(op, (dims[0], dims[1]))


def _is_multiply_add(op: ir.Operation) -> bool:
    block = op.regions[0].blocks[0]
    ops = [op_name(o) for o in block.operations]
    if ops != ["arith.mulf", "arith.addf", "linalg.yield"]:
        return False
    mul, add, _ = list(block.operations)
    args = list(block.arguments)
    return ({mul.operands[0], mul.operands[1]} == {args[0], args[1]}
            and {add.operands[0], add.operands[1]} == {args[2], mul.results[0]})


def _is_zero_fill(v: ir.Value) -> bool:
    return (isinstance(v, ir.OpResult) and is_fill(v.owner.operation)
            and float_constant(v.owner.operation.operands[0]) == 0.0)


def loop_sizes(op: ir.Operation, c: Contraction) -> dict[int, int]:
    sizes = {}
    for n in (0, 1):
        shape = ir.RankedTensorType(op.operands[n].type).shape
        for d, loop in enumerate(c.dims[n]):
            sizes[loop] = shape[d]
    return sizes


def _map(dims: tuple[int, ...]) -> str:
    return "affine_map<(d0, d1, d2) -> (" + ", ".join(f"d{d}" for d in dims) + ")>"


def _chain_text(first, second, s_shape: list[int], elem: str, init: ir.Value) -> tuple[str, list]:
    """A function computing ``S = first[0] x first[1]`` into a zero fill, then
    ``second(S)`` into ``init``; returns its text and the values for its arguments."""
    s_type = f"tensor<{s_shape[0]}x{s_shape[1]}x{elem}>"
    args: list[ir.Value] = []
    names: dict = {}  # SSA name -> type text

    def arg(v: ir.Value) -> str:
        """The SSA name of a function argument standing for ``v`` (its type recorded)."""
        for k, x in enumerate(args):
            if x == v:
                return f"%a{k}"
        args.append(v)
        names[f"%a{len(args) - 1}"] = str(v.type)
        return f"%a{len(args) - 1}"

    def generic(ins, out_name, out_type, result) -> str:
        maps = ", ".join([_map(d) for _, d in ins] + [_map((_ROW, _COL))])
        values = ", ".join(n for n, _ in ins)
        types = ", ".join(names[n] for n, _ in ins)
        return (f"  {result} = linalg.generic {{indexing_maps = [{maps}], iterator_types = [\"parallel\", "
                f"\"parallel\", \"reduction\"]}} ins({values} : {types}) outs({out_name} : {out_type}) "
                f"attrs = {{fuseflow.kind = \"matmul\"}} {{\n"
                f"  ^bb0(%x: {elem}, %y: {elem}, %acc: {elem}):\n"
                f"    %p = arith.mulf %x, %y : {elem}\n    %q = arith.addf %acc, %p : {elem}\n"
                f"    linalg.yield %q : {elem}\n  }} -> {out_type}\n")

    first_ins = [(arg(v), d) for v, d in first]
    init_name = arg(init)
    names["%s"] = s_type
    second_ins = [(v if isinstance(v, str) else arg(v), d) for v, d in second]  # "%s": the intermediate
    out_type = str(init.type)
    params = ", ".join(f"%a{k}: {x.type}" for k, x in enumerate(args))
    text = (f"func.func @chain({params}) -> {out_type} {{\n"
            f"  %zero = arith.constant 0.0 : {elem}\n"
            f"  %e = tensor.empty() : {s_type}\n"
            f"  %f = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], "
            f"iterator_types = [\"parallel\", \"parallel\"]}} ins(%zero : {elem}) outs(%e : {s_type}) "
            f"attrs = {{fuseflow.kind = \"fill\"}} {{\n  ^bb0(%in: {elem}, %out: {elem}):\n"
            f"    linalg.yield %in : {elem}\n  }} -> {s_type}\n"
            + generic(first_ins, "%f", s_type, "%s")
            + generic(second_ins, f"{init_name}", out_type, "%r")
            + f"  return %r : {out_type}\n}}\n")
    return "module {\n" + text + "}\n", args


def _erase_fill_chain(fill: ir.Operation) -> None:
    """Erase a fill that nothing reads any more, and its ``tensor.empty``."""
    if any(True for r in fill.results for _ in r.uses):
        return
    operands = list(fill.operands)
    fill.erase()
    for v in operands:
        if isinstance(v, ir.OpResult) and op_name(v.owner) in ("tensor.empty", "arith.constant"):
            erase_if_unused(v.owner.operation)
