"""Fusion regions as "fused einsums": expression trees over input tensors and index variables.

This is the analysis half of the SAM lowering (SAM_SEMANTICS.md section 4, steps 1-3):

1. Each ``linalg.generic`` of a region is read into an expression tree (``Leaf``, ``Map``,
   ``Reduce``) over its loop dimensions. A consumer's operand that is produced inside the region
   is replaced by the producer's tree (so a value used twice is recomputed: section 4.9), and the
   producer's result dimensions are unified with the consumer's operand dimensions (union-find).
   The connected components are the region's logical index variables, named i, j, k, ... in order
   of first appearance.
2. The partial order: every input tensor's storage level order orders its variables. The
   lowering further requires that a reduction variable be the innermost variable of the
   reduction's operand scope, except at the root of a tree, where a sparse accumulator of order
   1 or 2 handles up to two variables after it (``Region.order_problems``).
3. The legal dataflow orders are the topological sorts of that order that the lowering accepts,
   enumerated deterministically (``Region.legal_orders``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from fuseflow.bindings import ir, op_name
from fuseflow.errors import FuseflowError
from fuseflow.passes.ir_utils import encoding, indexing_maps, num_inputs

VAR_NAMES = "ijklmnopqrstuvwxyzabcdefgh"
MAX_ORDERS = 5040  # enumeration cap (7!): orders beyond it are not listed


class UnsupportedOp(FuseflowError):
    """The lowering cannot express this operation; the message names the op and its location."""

    def __init__(self, op: ir.Operation, why: str):
        self.op = op
        super().__init__(f"{op.location}: cannot lower '{op_name(op)}' to SAM: {why}")


class InfeasibleOrder(FuseflowError):
    """No dataflow order satisfies the region's constraints (or the requested one does not).

    The tuner treats this as an infeasible configuration."""


# --------------------------------------------------------------------------------------------
# Expression trees


@dataclass(frozen=True)
class Leaf:
    """A read of region input ``tensor`` (an index into ``Region.inputs``); ``vars[d]`` is the
    index variable of tensor dimension ``d``."""

    tensor: int
    vars: tuple[str, ...]


@dataclass(frozen=True)
class Map:
    """An elementwise ALU operation (``kind`` as in ``sam.alu``) over its ``args``; ``scalar``
    is the constant of a scalar form (``x <kind> scalar``)."""

    kind: str
    args: tuple
    scalar: float | None = None


@dataclass(frozen=True)
class Reduce:
    """Reduction of ``arg`` over index variable ``var`` (``kind``: add, max, min)."""

    kind: str
    var: str
    arg: object


Expr = Leaf | Map | Reduce

# f(0) == 0: these keep the iteration space of their operand (zeros stay implicit).
ZERO_PRESERVING_UNARY = {"neg", "relu", "sqrt", "tanh", "gelu"}
ZERO_PRESERVING_SCALAR = {"mul", "div"}
REDUCE_IDENTITY = {"add": 0.0, "max": -math.inf, "min": math.inf}


def leaves(e: Expr) -> list[Leaf]:
    if isinstance(e, Leaf):
        return [e]
    if isinstance(e, Reduce):
        return leaves(e.arg)
    return [leaf for a in e.args for leaf in leaves(a)]


def free_vars(e: Expr) -> set[str]:
    if isinstance(e, Leaf):
        return set(e.vars)
    if isinstance(e, Reduce):
        return free_vars(e.arg) - {e.var}
    return set().union(*(free_vars(a) for a in e.args))


def reductions(e: Expr) -> list[Reduce]:
    if isinstance(e, Leaf):
        return []
    if isinstance(e, Reduce):
        return [e, *reductions(e.arg)]
    return [r for a in e.args for r in reductions(a)]


def rename(e: Expr, m: dict[str, str]) -> Expr:
    if isinstance(e, Leaf):
        return Leaf(e.tensor, tuple(m.get(v, v) for v in e.vars))
    if isinstance(e, Reduce):
        return Reduce(e.kind, m.get(e.var, e.var), rename(e.arg, m))
    return Map(e.kind, tuple(rename(a, m) for a in e.args), e.scalar)


def show(e: Expr, names: list[str] | None = None) -> str:
    """Einsum-like text, e.g. ``sum_k(mul(T0[i,k], T1[k,j]))``."""
    if isinstance(e, Leaf):
        t = names[e.tensor] if names else f"T{e.tensor}"
        return f"{t}[{','.join(e.vars)}]"
    if isinstance(e, Reduce):
        return f"{e.kind}_{e.var}({show(e.arg, names)})"
    args = ", ".join(show(a, names) for a in e.args)
    return f"{e.kind}({args}{'' if e.scalar is None else f', {e.scalar:g}'})"


# --------------------------------------------------------------------------------------------
# Reading linalg.generic bodies


def _const_value(v: ir.Value) -> float | None:
    if not isinstance(v, ir.OpResult) or op_name(v.owner) != "arith.constant":
        return None
    attr = v.owner.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return float(attr.value)
    if isinstance(attr, ir.IntegerAttr):
        return float(attr.value)
    return None


_BINARY = {
    "arith.addf": "add", "arith.subf": "sub", "arith.mulf": "mul", "arith.divf": "div",
    "arith.maximumf": "max", "arith.maxnumf": "max", "arith.minimumf": "min", "arith.minnumf": "min",
}
_UNARY = {"arith.negf": "neg", "math.exp": "exp", "math.sqrt": "sqrt", "math.rsqrt": "rsqrt",
          "math.tanh": "tanh"}
_COMMUTATIVE = {"add", "mul", "max", "min"}
_CMPF_GREATER = {2, 3, 9, 10}  # arith.cmpf predicates ogt, oge, ugt, uge
_CMPF_LESS = {4, 5, 11, 12}  # olt, ole, ult, ule


@dataclass
class _Body:
    """Translation of one generic's body into an expression over block-argument leaves."""

    generic: ir.Operation
    arg_leaf: dict  # block argument index -> Expr (leaf or constant scalar marker)

    def expr(self, v: ir.Value):
        """Expr for value ``v``; a Python float for a constant scalar."""
        if isinstance(v, ir.BlockArgument):
            if v.owner.owner != self.generic:
                raise UnsupportedOp(self.generic, "body reads a value from outside the op")
            got = self.arg_leaf.get(v.arg_number)
            if got is None:
                raise UnsupportedOp(self.generic, "body reads its output (init) value outside a reduction")
            return got
        c = _const_value(v)
        if c is not None:
            return c
        op = v.owner
        name = op_name(op)
        if name in _BINARY:
            return self._binary(_BINARY[name], self.expr(op.operands[0]), self.expr(op.operands[1]))
        if name in _UNARY:
            x = self.expr(op.operands[0])
            return self._unary(_UNARY[name], x)
        if name == "arith.select":
            return self._select(op)
        if name in ("arith.truncf", "arith.extf"):
            return self.expr(op.operands[0])
        raise UnsupportedOp(self.generic, f"unsupported operation '{name}' in the body")

    def _unary(self, kind, x):
        if isinstance(x, float):
            raise UnsupportedOp(self.generic, f"'{kind}' of a constant")
        return Map(kind, (x,))

    def _binary(self, kind, a, b):
        if isinstance(a, float) and isinstance(b, float):
            raise UnsupportedOp(self.generic, "arithmetic on two constants")
        if isinstance(b, float):
            return Map(kind, (a,), b)
        if isinstance(a, float):
            if kind in _COMMUTATIVE:
                return Map(kind, (b,), a)
            if kind == "sub":  # c - x == (-x) + c
                return Map("add", (Map("neg", (b,)),), a)
            if kind == "div":  # c / x == c * (1 / x)
                return Map("rcp", (b,)) if a == 1.0 else Map("mul", (Map("rcp", (b,)),), a)
            raise UnsupportedOp(self.generic, f"constant {kind} by a tensor value")
        return Map(kind, (a, b))

    def _select(self, op):
        # max/min written as select(cmpf(x, y), ...): relu is select(x > 0, x, 0), clamp(min=c)
        # is select(x < c, c, x)
        cond, t, f = op.operands
        if isinstance(cond, ir.OpResult) and op_name(cond.owner) == "arith.cmpf":
            pred = ir.IntegerAttr(cond.owner.attributes["predicate"]).value
            lhs, rhs = cond.owner.operands
            picks_lhs = (t, f) == (lhs, rhs)
            if picks_lhs or (t, f) == (rhs, lhs):
                if pred in _CMPF_GREATER:
                    kind = "max" if picks_lhs else "min"
                elif pred in _CMPF_LESS:
                    kind = "min" if picks_lhs else "max"
                else:
                    kind = None
                if kind is not None:
                    e = self._binary(kind, self.expr(lhs), self.expr(rhs))
                    if e.kind == "max" and e.scalar == 0.0:
                        return Map("relu", e.args)
                    return e
        raise UnsupportedOp(self.generic, "unsupported 'arith.select' (only max/min forms are recognised)")


def _dims(m: ir.AffineMap, op: ir.Operation) -> list[int]:
    out = []
    for e in m.results:
        try:
            out.append(ir.AffineDimExpr(e).position)
        except (ValueError, TypeError):
            raise UnsupportedOp(op, f"indexing map {m} is not a projected permutation") from None
    return out


def scalar_fill_value(v: ir.Value) -> float | None:
    """The constant a tensor is filled with (linalg.fill or its generalized form), else None."""
    if not isinstance(v, ir.OpResult):
        return None
    op = v.owner
    name = op_name(op)
    if name == "linalg.fill":
        return _const_value(op.operands[0])
    if name == "linalg.generic" and num_inputs(op) == 1 and len(indexing_maps(op)[0].results) == 0:
        block = op.regions[0].blocks[0]
        ops = list(block.operations)
        if len(ops) == 1 and ops[0].operands[0] == block.arguments[0]:
            return _const_value(op.operands[0])
    return None


def is_init_only(op: ir.Operation) -> bool:
    """A fill (or tensor.empty) whose result is only ever used as a linalg init."""
    name = op_name(op)
    if name == "tensor.empty":
        return True
    if scalar_fill_value(op.results[0]) is None:
        return False
    for use in op.results[0].uses:
        user = use.owner
        if op_name(user) != "linalg.generic" or use.operand_number < num_inputs(user):
            return False
    return True


@dataclass
class OpTree:
    """One generic read as an expression over its own loop dims (vars ``(op_index, dim)``)."""

    op: ir.Operation
    expr: Expr
    out_dims: list[int]


def _operand_view(op: ir.Operation, operand: ir.Value, m: ir.AffineMap) -> tuple[ir.Value, list[int]]:
    """The tensor an operand reads and the loop dim indexing each of its dimensions. A
    ``tensor.expand_shape`` that only inserts unit dimensions (``unsqueeze``) is looked
    through: the unit dimensions are read at index 0 and drop out."""
    if isinstance(operand, ir.OpResult) and op_name(operand.owner) == "tensor.expand_shape":
        shape = list(ir.RankedTensorType(operand.type).shape)
        groups = [list(ir.ArrayAttr(g)) for g in ir.ArrayAttr(operand.owner.attributes["reassociation"])]
        groups = [[ir.IntegerAttr(d).value for d in g] for g in groups]
        keep = []
        for g in groups:
            big = [d for d in g if shape[d] != 1]
            if len(big) > 1:
                raise UnsupportedOp(op, "a reshape that splits a dimension")
            keep.append(big[0] if big else g[0])
        if all(shape[d] == 1 or d in keep for d in range(len(shape))):
            results = list(m.results)
            dims = []
            for d in keep:
                try:
                    dims.append(ir.AffineDimExpr(results[d]).position)
                except (ValueError, TypeError):
                    raise UnsupportedOp(op, f"indexing map {m} reads a reshaped tensor at a constant") from None
            source = operand.owner.operands[0]
            if len(dims) != ir.RankedTensorType(source.type).rank:
                raise UnsupportedOp(op, "an unsupported reshape")
            return source, dims
    return operand, _dims(m, op)


def read_generic(op: ir.Operation, index: int, operand_leaf) -> OpTree:
    """``operand_leaf(value, dims)`` gives the Expr for an ins tensor read with loop dims."""
    if op_name(op) != "linalg.generic":
        raise UnsupportedOp(op, "only linalg.generic is lowered (generalize named ops first)")
    if any(True for r in list(op.results)[1:] for _ in r.uses):
        raise UnsupportedOp(op, "ops whose second result is used (e.g. argmax) are not lowered")
    maps = indexing_maps(op)
    n_in = num_inputs(op)
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    reduction_dims = [d for d, it in enumerate(iters) if "reduction" in it]
    arg_leaf = {}
    for k in range(n_in):
        operand = op.operands[k]
        c = _const_value(operand)
        if c is not None:
            arg_leaf[k] = c
            continue
        if not isinstance(operand.type, ir.RankedTensorType):
            raise UnsupportedOp(op, "a non-constant scalar operand")
        source, dims = _operand_view(op, operand, maps[k])
        arg_leaf[k] = operand_leaf(source, dims)
    body = op.regions[0].blocks[0]
    yielded = list(body.operations)[-1].operands[0]
    out_arg = body.arguments[n_in]
    out_dims = _dims(maps[n_in], op)
    tagged = _tagged_unary(op, iters, arg_leaf)
    if sorted(out_dims) != sorted(set(range(len(iters))) - set(reduction_dims)):
        raise UnsupportedOp(op, "the output map must index every parallel loop exactly once")
    vname = lambda d: f"%{index}.{d}"  # noqa: E731  (fresh per-op variable names)
    arg_leaf = {k: (rename(e, {f"#{d}": vname(d) for d in range(len(iters))}) if not isinstance(e, float) else e)
                for k, e in arg_leaf.items()}
    if tagged is not None:
        expr = rename(tagged, {f"#{d}": vname(d) for d in range(len(iters))})
    elif reduction_dims:
        expr = _read_reduction(op, body, yielded, out_arg, arg_leaf, [vname(d) for d in reduction_dims])
    else:
        if any(True for _ in out_arg.uses):
            raise UnsupportedOp(op, "body reads its output (init) value outside a reduction")
        expr = _Body(op, arg_leaf).expr(yielded)
        if isinstance(expr, float):
            raise UnsupportedOp(op, "a constant-valued op (a fill) is not a computation")
    return OpTree(op, expr, out_dims)


# Elementwise functions whose bodies (erf or tanh polynomials, 1/(1+exp(-x))) the kernel
# recognizer (fuseflow-recognize-kernels) has already identified and tagged.
_TAGGED_UNARY = {"gelu", "sigmoid"}


def _tagged_unary(op, iters, arg_leaf) -> Expr | None:
    if "fuseflow.kind" not in op.attributes:
        return None
    kind = ir.StringAttr(op.attributes["fuseflow.kind"]).value
    tensors = [e for e in arg_leaf.values() if not isinstance(e, float)]
    if kind not in _TAGGED_UNARY or len(tensors) != 1 or any("reduction" in it for it in iters):
        return None
    return Map(kind, (tensors[0],))


def _read_reduction(op, body, yielded, out_arg, arg_leaf, rvars) -> Expr:
    if not isinstance(yielded, ir.OpResult) or op_name(yielded.owner) not in _BINARY:
        raise UnsupportedOp(op, "a reduction body must combine the init with one value")
    comb = yielded.owner
    kind = _BINARY[op_name(comb)]
    if kind not in REDUCE_IDENTITY:
        raise UnsupportedOp(op, f"'{kind}' is not a reduction")
    a, b = comb.operands
    value = b if a == out_arg else a if b == out_arg else None
    if value is None:
        raise UnsupportedOp(op, "a reduction body must combine the init with one value")
    inner = _Body(op, arg_leaf).expr(value)
    if isinstance(inner, float):
        raise UnsupportedOp(op, "reduction of a constant")
    expr = inner
    for v in reversed(rvars):
        expr = Reduce(kind, v, expr)
    init = scalar_fill_value(op.operands[num_inputs(op)])
    if init is None:
        raise UnsupportedOp(op, "a reduction's init must be a constant fill")
    if init != REDUCE_IDENTITY[kind]:
        expr = Map(kind, (expr,), init)
    return expr


# --------------------------------------------------------------------------------------------
# Regions


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def level_dims(t: ir.Type) -> list[int] | None:
    """Tensor dimension stored at each level (storage order); None when not a permutation
    (block-sparse formats)."""
    rank = ir.RankedTensorType(t).rank
    enc = encoding(t)
    if enc is None:
        return list(range(rank))
    m = enc.dim_to_lvl
    if m is None:
        return list(range(rank))
    try:
        dims = [ir.AffineDimExpr(e).position for e in m.results]
    except (ValueError, TypeError):
        return None
    return dims if sorted(dims) == list(range(rank)) else None


@dataclass
class Output:
    """One region result: the value it replaces and its expression."""

    value: ir.Value
    expr: Expr
    vars: tuple[str, ...]  # index variable of each result dimension


@dataclass
class Region:
    """A fusion region read as fused einsums over shared index variables."""

    name: str
    ops: list[ir.Operation]
    inputs: list[ir.Value]  # external tensors read by the region, in first-use order
    outputs: list[Output]
    vars: list[str] = field(default_factory=list)

    # -- constraints and orders -------------------------------------------------------------
    def precedences(self) -> set[tuple[str, str]]:
        """(a, b) pairs: a must come before b, from the input tensors' level orders."""
        pairs = set()
        for out in self.outputs:
            for leaf in leaves(out.expr):
                t = self.inputs[leaf.tensor].type
                dims = level_dims(t)
                if dims is None:
                    raise InfeasibleOrder(f"{self.name}: block-sparse input {t} needs the blocking schedule")
                lv = [leaf.vars[d] for d in dims]
                for a, b in itertools.pairwise(lv):
                    if a == b:
                        raise InfeasibleOrder(f"{self.name}: a tensor read on its diagonal ({t})")
                    pairs.add((a, b))
        return pairs

    def order_problems(self, order: list[str]) -> list[str]:
        """Why ``order`` cannot be lowered (empty when it can)."""
        pos = {v: n for n, v in enumerate(order)}
        problems = [f"{a} must come before {b} (storage order of an input)"
                    for a, b in sorted(self.precedences()) if pos[a] > pos[b]]
        for out in self.outputs:
            problems += _reduction_problems(out.expr, set(out.vars), pos, root=True)
        return problems

    def reduction_precedences(self) -> set[tuple[str, str]]:
        """(v, k) pairs: a reduction over k below the root of an output needs every variable of
        its scope before k (so that k is innermost); the root reduction may instead be followed
        by up to two output variables (a sparse accumulator), which ``order_problems`` checks."""
        pairs: set[tuple[str, str]] = set()

        def walk(e: Expr, scope: set[str], root: bool):
            if isinstance(e, Map):
                for a in e.args:
                    walk(a, scope, False)
            elif isinstance(e, Reduce):
                if not root:
                    pairs.update((v, e.var) for v in scope)
                walk(e.arg, scope | {e.var}, False)

        for out in self.outputs:
            walk(out.expr, set(out.vars), True)
        return pairs

    def legal_orders(self) -> list[list[str]]:
        """All lowerable dataflow orders, deterministic (lexicographic in variable naming)."""
        pairs = self.precedences() | self.reduction_precedences()
        if _has_cycle(self.vars, pairs):
            return []
        found = []
        for order in _topological_orders(self.vars, pairs):
            if not self.order_problems(order):
                found.append(order)
                if len(found) >= MAX_ORDERS:
                    break
        return found

    def choose_order(self, choice: str | int | None) -> list[str]:
        """An order by index into ``legal_orders`` or by explicit permutation ("ikj"/"i,k,j")."""
        if choice is None or isinstance(choice, int) or str(choice).strip().isdigit():
            index = 0 if choice is None else int(choice)
            orders = self.legal_orders()
            if not orders:
                raise InfeasibleOrder(f"{self.name}: no legal dataflow order "
                                      f"({self.describe_constraints()})")
            if index >= len(orders):
                raise InfeasibleOrder(f"{self.name}: order index {index} out of range "
                                      f"({len(orders)} legal orders)")
            return orders[index]
        text = str(choice).replace(",", "").replace(" ", "")
        order = list(text)
        if sorted(order) != sorted(self.vars):
            raise InfeasibleOrder(f"{self.name}: order '{choice}' is not a permutation of "
                                  f"{','.join(self.vars)}")
        problems = self.order_problems(order)
        if problems:
            raise InfeasibleOrder(f"{self.name}: order {','.join(order)} is illegal: {'; '.join(problems)}")
        return order

    def describe_constraints(self) -> str:
        pairs = ", ".join(f"{a}<{b}" for a, b in sorted(self.precedences()))
        return f"variables {','.join(self.vars)}; storage orders {pairs or 'none'}"


def _reduction_problems(e: Expr, scope: set[str], pos: dict[str, int], root: bool) -> list[str]:
    if isinstance(e, Leaf):
        return []
    if isinstance(e, Map):
        return [p for a in e.args for p in _reduction_problems(a, scope, pos, False)]
    inner_scope = scope | {e.var}
    after = [v for v in scope if pos[v] > pos[e.var]]
    problems = []
    if after:
        if not root:
            problems.append(f"reduction over {e.var} must be innermost in its scope "
                            f"({','.join(sorted(after))} come after it)")
        elif len(after) > 2:
            problems.append(f"reduction over {e.var} has {len(after)} variables after it "
                            "(a sparse accumulator handles at most 2)")
        elif isinstance(e.arg, Reduce):
            problems.append(f"reductions over {e.var} and {e.arg.var} need nested accumulators")
    # below a spacc root the remaining reductions are ordinary
    return problems + _reduction_problems(e.arg, inner_scope, pos, root and not after and True)


def _has_cycle(items: list[str], pairs: set[tuple[str, str]]) -> bool:
    indegree = {v: 0 for v in items}
    for _, b in pairs:
        indegree[b] += 1
    ready = [v for v in items if indegree[v] == 0]
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for a, b in pairs:
            if a == v:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
    return seen != len(items)


def _topological_orders(items: list[str], pairs: set[tuple[str, str]]):
    preds = {v: {a for a, b in pairs if b == v} for v in items}

    def rec(done: list[str], left: list[str]):
        if not left:
            yield list(done)
            return
        for v in left:
            if preds[v] <= set(done):
                done.append(v)
                yield from rec(done, [x for x in left if x != v])
                done.pop()

    yield from rec([], list(items))


def build_region(name: str, ops: list[ir.Operation]) -> Region:
    """Read ``ops`` (in program order) as one fused region."""
    op_index = {}
    for n, op in enumerate(ops):
        op_index[_key(op)] = n
    inputs: list[ir.Value] = []
    uf = _UnionFind()
    trees: dict[int, OpTree] = {}

    def input_index(v: ir.Value) -> int:
        for n, x in enumerate(inputs):
            if x == v:
                return n
        inputs.append(v)
        return len(inputs) - 1

    use_ids = itertools.count()
    for n, op in enumerate(ops):
        def operand_leaf(v, dims, n=n):
            producer = v.owner if isinstance(v, ir.OpResult) else None
            p = op_index.get(_key(producer)) if producer is not None else None
            if p is None:
                return Leaf(input_index(v), tuple(f"#{d}" for d in dims))
            ptree = trees[p]
            # The producer's expression is inlined (recomputed per use) with all its variables
            # renamed apart for this use; its result dims are unified with this operand's dims.
            expr = _canonical(ptree.expr, uf)
            suffix = f"@{next(use_ids)}"
            expr = rename(expr, {v: v + suffix for v in _all_vars(expr)})
            for t, d in enumerate(dims):
                uf.union(uf.find(f"%{p}.{ptree.out_dims[t]}") + suffix, f"%{n}.{d}")
            return expr

        trees[n] = read_generic(op, n, operand_leaf)
    # region outputs: results used outside the region
    outputs = []
    for n, op in enumerate(ops):
        res = op.results[0]
        external = [u for u in res.uses if _key(u.owner) not in op_index]
        if external:
            outputs.append((res, trees[n]))
    if not outputs:
        raise FuseflowError(f"{name}: region has no result used outside it")
    # canonical variable names in order of first appearance
    canon: dict[str, str] = {}
    exprs = []
    for res, tree in outputs:
        e = _canonical(tree.expr, uf)
        n = ops.index(tree.op)
        out_vars = tuple(uf.find(f"%{n}.{d}") for d in tree.out_dims)
        exprs.append((res, e, out_vars))
    order_seen = []
    for _, e, out_vars in exprs:
        for v in list(out_vars) + _vars_in_order(e):
            if v not in canon:
                order_seen.append(v)
                canon[v] = VAR_NAMES[len(canon)] if len(canon) < len(VAR_NAMES) else f"v{len(canon)}"
    region = Region(name, ops, inputs, [])
    for res, e, out_vars in exprs:
        region.outputs.append(Output(res, rename(e, canon), tuple(canon[v] for v in out_vars)))
    region.vars = [canon[v] for v in order_seen]
    return region


def _key(op) -> object:
    if op is None:
        return None
    op = op.operation if hasattr(op, "operation") else op
    return op


def _canonical(e: Expr, uf: _UnionFind) -> Expr:
    if isinstance(e, Leaf):
        return Leaf(e.tensor, tuple(uf.find(v) for v in e.vars))
    if isinstance(e, Reduce):
        return Reduce(e.kind, uf.find(e.var), _canonical(e.arg, uf))
    return Map(e.kind, tuple(_canonical(a, uf) for a in e.args), e.scalar)


def _all_vars(e: Expr) -> set[str]:
    if isinstance(e, Leaf):
        return set(e.vars)
    if isinstance(e, Reduce):
        return {e.var} | _all_vars(e.arg)
    return set().union(*(_all_vars(a) for a in e.args))


def _vars_in_order(e: Expr) -> list[str]:
    if isinstance(e, Leaf):
        return list(e.vars)
    if isinstance(e, Reduce):
        return _vars_in_order(e.arg) + [e.var]
    return [v for a in e.args for v in _vars_in_order(a)]
