"""Fusion regions as "fused einsums": expression trees over input tensors and index variables.

This is the analysis half of the SAM lowering (SAM_SEMANTICS.md section 4, steps 1-3):

1. Each ``linalg.generic`` of a region is read into an expression tree (``Leaf``, ``Map``,
   ``Reduce``) over its loop dimensions. A consumer's operand that is produced inside the region
   is replaced by the producer's tree (so a value used twice is recomputed: section 4.9), and the
   producer's result dimensions are unified with the consumer's operand dimensions (union-find).
   The connected components are the region's logical index variables, named i, j, k, ... in order
   of first appearance.
2. The partial order: every input tensor's storage level order orders its variables. A
   reduction whose variable is not innermost among the loops its value depends on becomes a
   sparse accumulator (``trailing_vars``): of order 1 anywhere, of order 2 only where it feeds
   the output directly, additive only, and a loop its value does not depend on cannot sit
   between its variable and its output levels (``Region.order_problems``).
3. The legal dataflow orders are the topological sorts of that order that the lowering accepts,
   enumerated deterministically with prefix pruning (``Region.legal_orders``); an order with an
   accumulator is also run through the lowering without building IR (whether the
   accumulator's output, which never covers a whole dimension, can be joined where it is used).

Unit dimensions (size 1: layernorm's keepdim ``tensor<Nx1xf32>`` statistics read through maps
like ``(d0, d1) -> (d0, 0)``) drop out of the index variables (``UNIT``). The normalized masked
softmax's ``sparse_tensor`` bodies are read as ``sample`` (binary: intersection keeping one
side's value), stored reductions (``sparse_tensor.reduce``: over stored entries only) and stored
maps (``sparse_tensor.unary`` present={f(x, ...)}: f at x's stored entries only, so f(0) != 0 is
legal). Dense inputs produced by a reshape or slice are free: the lowering picks their level
order (``Region.free_inputs``, ``Region.input_type``). See docs/lowering.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Set
from dataclasses import dataclass, field

from fuseflow.bindings import ir, op_name
from fuseflow.errors import FuseflowError
from fuseflow.passes.ir_utils import encoding, indexing_maps, num_inputs

VAR_NAMES = "ijklmnopqrstuvwxyzabcdefgh"
# Ops between regions that the program runner executes on dense values (fuseflow-partition
# places region boundaries at them).
RUNNER_RESHAPES = {"tensor.expand_shape", "tensor.collapse_shape", "tensor.extract_slice"}
# Dense region inputs whose level order the lowering chooses: values the program runner makes
# between regions (reshapes, slices) and constants (weights, laid out offline).
FREE_LAYOUT_SOURCES = RUNNER_RESHAPES | {"arith.constant"}
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


UNIT = "_"  # the "variable" of a unit (size-1) dimension: it indexes nothing and drops out


@dataclass(frozen=True)
class Leaf:
    """A read of region input ``tensor`` (an index into ``Region.inputs``); ``vars[d]`` is the
    index variable of tensor dimension ``d`` (``UNIT`` for a size-1 dimension, read at 0)."""

    tensor: int
    vars: tuple[str, ...]


@dataclass(frozen=True)
class Map:
    """An elementwise ALU operation (``kind`` as in ``sam.alu``) over its ``args``; ``scalar``
    is the constant of a scalar form (``x <kind> scalar``)."""

    kind: str
    args: tuple
    scalar: float | None = None
    # Indices of the args that carry a sparse operand's stored entries when the op is evaluated
    # only there (a ``sparse_tensor.unary`` present body): its iteration is that operand's,
    # absent entries stay absent, so ops with f(0) != 0 (exp, subtracting a maximum) are legal.
    stored: tuple[int, ...] = ()


@dataclass(frozen=True)
class Reduce:
    """Reduction of ``arg`` over index variable ``var`` (``kind``: add, max, min)."""

    kind: str
    var: str
    arg: object
    stored: bool = False  # over stored entries only (``sparse_tensor.reduce``): zeros ignored


Expr = Leaf | Map | Reduce

# ``sample``: the left value where both operands store an entry (``sparse_tensor.binary`` with
# overlap={yield left}, left={}, right={}): an intersection whose value is the left operand's.
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
        return set(e.vars) - {UNIT}
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
        return Reduce(e.kind, m.get(e.var, e.var), rename(e.arg, m), e.stored)
    return Map(e.kind, tuple(rename(a, m) for a in e.args), e.scalar, e.stored)


def show(e: Expr, names: list[str] | None = None) -> str:
    """Einsum-like text, e.g. ``sum_k(mul(T0[i,k], T1[k,j]))``."""
    if isinstance(e, Leaf):
        t = names[e.tensor] if names else f"T{e.tensor}"
        return f"{t}[{','.join(e.vars)}]"
    if isinstance(e, Reduce):
        return f"{'stored_' if e.stored else ''}{e.kind}_{e.var}({show(e.arg, names)})"
    args = ", ".join(show(a, names) for a in e.args)
    return f"{'stored_' if e.stored else ''}{e.kind}({args}{'' if e.scalar is None else f', {e.scalar:g}'})"


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
    nested: list = field(default_factory=list)  # (block argument, Expr) of sparse_tensor bodies

    def expr(self, v: ir.Value):
        """Expr for value ``v``; a Python float for a constant scalar."""
        if isinstance(v, ir.BlockArgument):
            for arg, e in self.nested:
                if arg == v:
                    return e
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
        if name == "sparse_tensor.binary":
            return self._sample(op)
        if name == "sparse_tensor.unary":
            return self._present(op)
        raise UnsupportedOp(self.generic, f"unsupported operation '{name}' in the body")

    def _yielded(self, region) -> ir.Value | None:
        """The value a ``sparse_tensor`` op region yields (None for an empty region)."""
        blocks = list(region.blocks)
        if not blocks:
            return None
        return list(blocks[0].operations)[-1].operands[0]

    def _sample(self, op):
        # overlap={yield one side}, left={}, right={}: an intersection keeping that side's value
        overlap, left, right = op.regions
        if list(left.blocks) or list(right.blocks):
            raise UnsupportedOp(self.generic, "'sparse_tensor.binary' with a non-empty left or right region")
        block = list(overlap.blocks)[0]
        kept = self._yielded(overlap)
        a, b = (self.expr(x) for x in op.operands)
        if isinstance(a, float) or isinstance(b, float):
            raise UnsupportedOp(self.generic, "'sparse_tensor.binary' of a constant")
        if kept == block.arguments[0]:
            return Map("sample", (a, b))
        if kept == block.arguments[1]:
            return Map("sample", (b, a))
        raise UnsupportedOp(self.generic, "'sparse_tensor.binary' whose overlap is not one operand")

    def _present(self, op):
        # present={f(x, ...)} absent={}: f evaluated at the stored entries of x only
        present, absent = op.regions
        if list(absent.blocks):
            raise UnsupportedOp(self.generic, "'sparse_tensor.unary' with a non-empty absent region")
        x = self.expr(op.operands[0])
        if isinstance(x, float):
            raise UnsupportedOp(self.generic, "'sparse_tensor.unary' of a constant")
        block = list(present.blocks)[0]
        self.nested.append((block.arguments[0], x))
        body = self.expr(self._yielded(present))
        self.nested.pop()
        if isinstance(body, float) or x not in _subexprs(body):
            raise UnsupportedOp(self.generic, "a 'sparse_tensor.unary' present value must use its input")
        return _mark_stored(body, x)

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


def _subexprs(e) -> list:
    if isinstance(e, Leaf):
        return [e]
    if isinstance(e, Reduce):
        return [e, *_subexprs(e.arg)]
    return [e, *(x for a in e.args for x in _subexprs(a))]


def _mark_stored(e: Expr, x: Expr) -> Expr:
    """Every Map on a path from ``e`` down to ``x`` is evaluated at ``x``'s stored entries."""
    if e == x or not isinstance(e, Map):
        return e
    carry = tuple(n for n, a in enumerate(e.args) if x in _subexprs(a))
    if not carry:
        return e
    return Map(e.kind, tuple(_mark_stored(a, x) for a in e.args), e.scalar, carry)


def _dims(m: ir.AffineMap, op: ir.Operation, shape=None, unit_loops=frozenset()) -> list[int | None]:
    """The loop dim indexing each tensor dimension; None for a unit dimension (size 1, read at
    the constant 0 or by a loop of extent 1): it drops out of the index variables."""
    out = []
    for n, e in enumerate(m.results):
        try:
            d = ir.AffineDimExpr(e).position
            out.append(None if d in unit_loops else d)
        except (ValueError, TypeError):
            unit = shape is not None and shape[n] == 1 and _is_const_zero(e)
            if not unit:
                raise UnsupportedOp(op, f"indexing map {m} is not a projected permutation") from None
            out.append(None)
    return out


def _is_const_zero(e) -> bool:
    try:
        return ir.AffineConstantExpr(e).value == 0
    except (ValueError, TypeError):
        return False


def _unit_loops(op: ir.Operation, maps: list[ir.AffineMap]) -> frozenset[int]:
    """Loop dims of extent 1 (they index a size-1 dimension of some operand)."""
    unit = set()
    for v, m in zip(op.operands, maps, strict=True):
        if not isinstance(v.type, ir.RankedTensorType):
            continue
        shape = list(ir.RankedTensorType(v.type).shape)
        for n, e in enumerate(m.results):
            try:
                d = ir.AffineDimExpr(e).position
            except (ValueError, TypeError):
                continue
            if shape[n] == 1:
                unit.add(d)
    return frozenset(unit)


def is_unit_reshape(v: ir.Value) -> bool:
    """``v`` is a ``tensor.expand_shape`` that only inserts unit dimensions (looked through by
    the lowering); any other reshape is a region boundary (see ``fuseflow-partition``)."""
    if not isinstance(v, ir.OpResult) or op_name(v.owner) != "tensor.expand_shape":
        return False
    shape = list(ir.RankedTensorType(v.type).shape)
    groups = [[ir.IntegerAttr(d).value for d in ir.ArrayAttr(g)]
              for g in ir.ArrayAttr(v.owner.attributes["reassociation"])]
    return all(len([d for d in g if shape[d] != 1]) <= 1 for g in groups) and \
        encoding(v.owner.operands[0].type) is None


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


def _operand_view(op: ir.Operation, operand: ir.Value, m: ir.AffineMap,
                  unit_loops: frozenset[int]) -> tuple[ir.Value, list[int | None]]:
    """The tensor an operand reads and the loop dim indexing each of its dimensions (None for
    a unit dimension). A ``tensor.expand_shape`` that only inserts unit dimensions
    (``unsqueeze``) is looked through; any other reshape is read as a tensor of its own (the
    partition places it at a region boundary and the program runner executes it)."""
    shape = list(ir.RankedTensorType(operand.type).shape)
    dims = _dims(m, op, shape, unit_loops)
    if is_unit_reshape(operand):
        groups = [[ir.IntegerAttr(d).value for d in ir.ArrayAttr(g)]
                  for g in ir.ArrayAttr(operand.owner.attributes["reassociation"])]
        source = operand.owner.operands[0]
        src_shape = list(ir.RankedTensorType(source.type).shape)
        view = []
        for s, g in enumerate(groups):
            big = [d for d in g if shape[d] != 1]
            view.append(dims[big[0]] if big and src_shape[s] != 1 else None)
        return source, view
    return operand, dims


def read_generic(op: ir.Operation, index: int, operand_leaf) -> OpTree:
    """``operand_leaf(value, dims)`` gives the Expr for an ins tensor read with loop dims."""
    if op_name(op) != "linalg.generic":
        raise UnsupportedOp(op, "only linalg.generic is lowered (generalize named ops first)")
    if any(True for r in list(op.results)[1:] for _ in r.uses):
        raise UnsupportedOp(op, "ops whose second result is used (e.g. argmax) are not lowered")
    maps = indexing_maps(op)
    n_in = num_inputs(op)
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    unit = _unit_loops(op, maps)
    reduction_dims = [d for d, it in enumerate(iters) if "reduction" in it and d not in unit]
    arg_leaf = {}
    for k in range(n_in):
        operand = op.operands[k]
        c = _const_value(operand)
        if c is not None:
            arg_leaf[k] = c
            continue
        if not isinstance(operand.type, ir.RankedTensorType):
            raise UnsupportedOp(op, "a non-constant scalar operand")
        source, dims = _operand_view(op, operand, maps[k], unit)
        arg_leaf[k] = operand_leaf(source, dims)
    body = op.regions[0].blocks[0]
    yielded = list(body.operations)[-1].operands[0]
    out_arg = body.arguments[n_in]
    out_type = op.operands[n_in].type
    out_dims = _dims(maps[n_in], op, list(ir.RankedTensorType(out_type).shape), unit)
    tagged = _tagged_unary(op, iters, arg_leaf)
    parallel = set(range(len(iters))) - set(reduction_dims) - unit
    if sorted(d for d in out_dims if d is not None) != sorted(parallel):
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
    stored = False
    if isinstance(yielded, ir.OpResult) and op_name(yielded.owner) == "sparse_tensor.reduce":
        # sparse_tensor.reduce %x, %acc, %identity {combine}: over the stored entries only
        red = yielded.owner
        block = list(red.regions[0].blocks)[0]
        ops = list(block.operations)
        combine = ops[0] if len(ops) == 2 else None
        if combine is None or op_name(combine) not in _BINARY or \
                {combine.operands[0], combine.operands[1]} != set(block.arguments):
            raise UnsupportedOp(op, "a 'sparse_tensor.reduce' body must combine its two arguments")
        kind = _BINARY[op_name(combine)]
        if kind not in REDUCE_IDENTITY or _const_value(red.operands[2]) != REDUCE_IDENTITY[kind]:
            raise UnsupportedOp(op, f"'sparse_tensor.reduce' of '{kind}' needs its identity")
        a, b = red.operands[0], red.operands[1]
        stored = True
    elif isinstance(yielded, ir.OpResult) and op_name(yielded.owner) in _BINARY:
        kind = _BINARY[op_name(yielded.owner)]
        a, b = yielded.owner.operands
    else:
        raise UnsupportedOp(op, "a reduction body must combine the init with one value")
    if kind not in REDUCE_IDENTITY:
        raise UnsupportedOp(op, f"'{kind}' is not a reduction")
    value = b if a == out_arg else a if b == out_arg else None
    if value is None:
        raise UnsupportedOp(op, "a reduction body must combine the init with one value")
    inner = _Body(op, arg_leaf).expr(value)
    if isinstance(inner, float):
        raise UnsupportedOp(op, "reduction of a constant")
    expr = inner
    for v in reversed(rvars):
        expr = Reduce(kind, v, expr, stored)
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
    # computed once: the legal orders, the storage precedences, the reductions (``_Acc``)
    _orders: list[list[str]] | None = field(default=None, repr=False, compare=False)
    _precedences: set[tuple[str, str]] | None = field(default=None, repr=False, compare=False)
    _accs: list | None = field(default=None, repr=False, compare=False)
    _free: set[int] | None = field(default=None, repr=False, compare=False)
    _reads: dict | None = field(default=None, repr=False, compare=False)
    _layouts: list | None = field(default=None, repr=False, compare=False)
    _rejection: str | None = field(default=None, repr=False, compare=False)  # why one order failed

    # -- inputs whose storage order the lowering chooses -----------------------------------
    def free_inputs(self) -> set[int]:
        """Dense inputs produced by a reshape or slice (which the program runner executes) or
        constants (weights, laid out offline for free, SAM_SEMANTICS.md 4.12): the lowering
        materializes them in the level order the dataflow order needs (``input_type``),
        so their storage order constrains nothing, as long as every read of one agrees on it
        (``order_problems``)."""
        if self._free is None:
            self._free = {n for n, v in enumerate(self.inputs) if encoding(v.type) is None
                          and isinstance(v, ir.OpResult) and op_name(v.owner) in FREE_LAYOUT_SOURCES}
        return set(self._free)

    def _free_reads(self) -> dict[int, list[tuple[str, ...]]]:
        """The variables of the distinct reads of each free input (computed once)."""
        if self._reads is None:
            free = self.free_inputs()
            reads: dict[int, set[tuple[str, ...]]] = {}
            for out in self.outputs:
                for leaf in leaves(out.expr):
                    if leaf.tensor in free:
                        reads.setdefault(leaf.tensor, set()).add(leaf.vars)
            self._reads = {n: sorted(r) for n, r in sorted(reads.items())}
        return self._reads

    def _layout_problems(self, pos: dict[str, float]) -> list[str]:
        """Free inputs read in two level orders: two reads place a pair of dimensions in opposite
        orders (variables not placed yet have position inf: only certain conflicts count)."""
        problems = []
        for n, reads in self._free_reads().items():
            if len(reads) < 2:
                continue
            rank = len(reads[0])
            for d1, d2 in itertools.combinations(range(rank), 2):
                seen = {pos.get(r[d1], math.inf) < pos.get(r[d2], math.inf) for r in reads
                        if pos.get(r[d1], math.inf) != pos.get(r[d2], math.inf)}
                if len(seen) == 2:
                    problems.append(f"the reads of input {n} need different level orders "
                                    f"(dimensions {d1} and {d2} in both orders)")
                    break
        return problems

    def _free_layouts(self, order: list[str]) -> dict[int, set[tuple[int, ...]]]:
        """For each free input, the level orders (dims sorted by dataflow position) its reads
        need in ``order``."""
        pos = {v: k for k, v in enumerate(order)}
        return {n: {tuple(sorted(range(len(r)), key=lambda d, r=r: (pos.get(r[d], len(order)), d))) for r in reads}
                for n, reads in self._free_reads().items()}

    def input_type(self, n: int, order: list[str]) -> ir.Type:
        """The type the graph reads input ``n`` as in ``order``: its own, or for a free input a
        dense one whose levels follow ``order``."""
        t = self.inputs[n].type
        layouts = self._free_layouts(order).get(n)
        if not layouts:
            return t
        (dims,) = layouts
        dims = list(dims)
        if dims == list(range(len(dims))):
            return t
        rt = ir.RankedTensorType(t)
        names = ", ".join(f"d{d}" for d in range(rt.rank))
        lvls = ", ".join(f"d{d} : dense" for d in dims)
        enc = ir.Attribute.parse(f"#sparse_tensor.encoding<{{ map = ({names}) -> ({lvls}) }}>", t.context)
        return ir.RankedTensorType.get(rt.shape, rt.element_type, enc, loc=ir.Location.unknown(t.context))

    # -- constraints and orders -------------------------------------------------------------
    def precedences(self) -> set[tuple[str, str]]:
        """(a, b) pairs: a must come before b, from the input tensors' level orders."""
        if self._precedences is None:
            self._precedences = self._storage_precedences()
        return set(self._precedences)

    def _storage_precedences(self) -> set[tuple[str, str]]:
        pairs = set()
        free = self.free_inputs()
        for out in self.outputs:
            for leaf in leaves(out.expr):
                if leaf.tensor in free:
                    continue
                t = self.inputs[leaf.tensor].type
                dims = level_dims(t)
                if dims is None:
                    raise InfeasibleOrder(f"{self.name}: block-sparse input {t} needs the blocking schedule")
                lv = [leaf.vars[d] for d in dims if leaf.vars[d] != UNIT]
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
        accumulators: list = []
        problems += self._layout_problems(pos) + self._accumulator_problems(pos, accumulators)
        # whether a sparse accumulator's output (which never covers a whole dimension) can be
        # joined where it is used is the lowering's decision: ask it
        return problems or (self._lowering_problems(order) if accumulators else [])

    def _lowering_problems(self, order: list[str]) -> list[str]:
        """What the lowering itself refuses in ``order`` (run without building IR): e.g. a
        union of a sparse accumulator's output with a value broadcast along its variable."""
        from fuseflow.passes.sam_lowering import DryBuilder, LoweringError, layout_of, lower_region

        if self._layouts is None:
            self._layouts = [layout_of(v.type) for v in self.inputs]
        layouts = list(self._layouts)
        for n, needs in self._free_layouts(order).items():
            (dims,) = needs if len(needs) == 1 else (sorted(needs)[0],)
            layouts[n] = (list(dims), ["dense"] * len(dims))
        try:
            lower_region(DryBuilder(), self, order, None, layouts)
        except LoweringError as e:
            return [str(e).removeprefix(f"{self.name}: ")]
        return []

    def _accumulator_problems(self, pos: dict[str, float], found: list | None = None) -> list[str]:
        """Problems of the reductions in ``pos``; appends to ``found`` the trailing variables of
        each reduction that has some (a sparse accumulator)."""
        if self._accs is None:
            self._accs = [([v for v in out.vars if v != UNIT], _accumulators(out.expr)) for out in self.outputs]
        problems = []
        for out_vars, accs in self._accs:
            root_ctx = sorted(out_vars, key=lambda v: pos[v])
            inner: list[list[str]] = []
            for a in accs:
                ctx = root_ctx if a.parent < 0 else inner[a.parent]
                loops, after = reduction_loops(a.var, a.free, ctx, pos)
                problems += _accumulator_problem(a, ctx, pos, after)
                if found is not None and after:
                    found.append(after)
                inner.append(loops)
        return problems

    def _prefix_feasible(self, prefix: list[str]) -> bool:
        """False when every order starting with ``prefix`` has an accumulator problem (the
        variables not placed yet count as coming later); prunes the enumeration."""
        pos: dict[str, float] = {v: n for n, v in enumerate(prefix)}
        for v in self.vars:
            pos.setdefault(v, math.inf)
        return not self._layout_problems(pos) and not self._accumulator_problems(pos)

    def legal_orders(self) -> list[list[str]]:
        """All lowerable dataflow orders, deterministic (lexicographic in variable naming; the
        first ``MAX_ORDERS``). Computed once per region."""
        if self._orders is None:
            pairs = self.precedences()
            found = []
            if not _has_cycle(self.vars, pairs):
                for order in _topological_orders(self.vars, pairs, self._prefix_feasible):
                    problems = self.order_problems(order)
                    if not problems:
                        found.append(order)
                        if len(found) >= MAX_ORDERS:
                            break
                    elif self._rejection is None:
                        self._rejection = f"{','.join(order)}: {problems[0]}"
            self._orders = found
        return [list(o) for o in self._orders]

    def best_order(self) -> list[str]:
        """The legal order with the least work on dense bounds (``sam_lowering.order_work``;
        ties: the first)."""
        from fuseflow.passes.sam_lowering import order_work

        orders = self.legal_orders()
        if not orders:
            return self.choose_order(0)  # raises, naming the reason
        return min(orders, key=lambda o: order_work(self, o))

    def choose_order(self, choice: str | int | None) -> list[str]:
        """An order by index into ``legal_orders``, by explicit permutation ("ikj"/"i,k,j") or
        ``"best"`` (``best_order``)."""
        if str(choice).strip() == "best":
            return self.best_order()
        if choice is None or isinstance(choice, int) or str(choice).strip().isdigit():
            index = 0 if choice is None else int(choice)
            orders = self.legal_orders()
            if not orders:
                why = f"; e.g. {self._rejection}" if self._rejection else ""
                raise InfeasibleOrder(f"{self.name}: no legal dataflow order "
                                      f"({self.describe_constraints()}{why})")
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


def trailing_vars(var: str, free: Set[str], ctx: list[str], pos: dict[str, float]) -> list[str]:
    """The variables of a reduction's loop context ``ctx`` (in dataflow order) that its value
    depends on (``free``) and that come after its variable ``var``: the output levels of its
    sparse accumulator (empty: ``var`` is innermost and an ordinary ``reduce`` does)."""
    return [v for v in ctx if v in free and pos[v] > pos[var]]


def reduction_loops(var: str, free: Set[str], ctx: list[str],
                    pos: dict[str, float]) -> tuple[list[str], list[str]]:
    """(the loops of a reduction's operand, its trailing variables): its scope in dataflow
    order. The operand iterates the context's variables before the reduction variable that its
    value depends on (shared with the context: one joiner serves both) or that *drive* it (a
    context loop it does not index that comes before one it does: its fibers restart per
    iteration, a real recomputation, SAM_SEMANTICS.md 4.10), the reduction variable, then the
    trailing variables (``trailing_vars``). A context loop it neither depends on nor is driven
    by is not iterated: the reduction's value is repeated over it."""
    after = trailing_vars(var, free, ctx, pos)
    last = max((pos[w] for w in free if w in pos), default=-math.inf)
    before = [v for v in ctx if pos[v] < pos[var] and (v in free or pos[v] < last)]
    return before + [var] + after, after


@dataclass(frozen=True)
class _Acc:
    """A reduction as the order analysis sees it."""

    var: str
    kind: str
    free: frozenset[str]  # the variables its value depends on
    parent: int  # index of the enclosing reduction in preorder, -1 at the top
    root: bool  # only unary maps lie between it and the output writer


def _accumulators(e: Expr, parent: int = -1, root: bool = True, out: list | None = None) -> list[_Acc]:
    """The reductions of ``e`` in preorder."""
    out = [] if out is None else out
    if isinstance(e, Map):
        for a in e.args:
            _accumulators(a, parent, root and len(e.args) == 1, out)
    elif isinstance(e, Reduce):
        out.append(_Acc(e.var, e.kind, frozenset(free_vars(e)), parent, root))
        _accumulators(e.arg, len(out) - 1, False, out)
    return out


def _accumulator_problem(a: _Acc, ctx: list[str], pos: dict[str, float], after: list[str]) -> list[str]:
    """Why reduction ``a``, evaluated in loop context ``ctx`` with trailing variables
    ``after``, cannot be lowered in ``pos`` (variables not placed yet have position inf: only
    certain problems are reported)."""
    if pos[a.var] == math.inf:
        return []
    names = ",".join(after)
    if len(after) > 2:
        return [f"reduction over {a.var} has {len(after)} variables after it ({names}; "
                "a sparse accumulator handles at most 2)"]
    if after and a.kind != "add":
        return [f"the {a.kind} reduction over {a.var} must be innermost ({names} come "
                "after it; a sparse accumulator only adds)"]
    if len(after) == 2 and not a.root:
        return [f"reduction over {a.var} has 2 variables after it ({names}): an "
                "order-2 sparse accumulator must feed the output directly"]
    # the accumulator's output fibers cannot be repeated as a whole: a loop its value does
    # not depend on must come after every one of its output levels
    early = [v for v in ctx if v not in after and after and pos[a.var] < pos[v] < pos[after[-1]]]
    if early:
        return [f"reduction over {a.var} does not depend on {','.join(early)}, which comes "
                f"between it and its output variable {after[-1]}"]
    return []


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


def _topological_orders(items: list[str], pairs: set[tuple[str, str]], feasible=None):
    """Topological sorts of ``items`` under ``pairs``, lexicographic; ``feasible(prefix)``
    False prunes every order with that prefix."""
    preds = {v: {a for a, b in pairs if b == v} for v in items}

    def rec(done: list[str], left: list[str]):
        if not left:
            yield list(done)
            return
        for v in left:
            if preds[v] <= set(done):
                done.append(v)
                if feasible is None or feasible(done):
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
        def operand_leaf(v, dims, n=n, op=op):
            producer = v.owner if isinstance(v, ir.OpResult) else None
            p = op_index.get(_key(producer)) if producer is not None else None
            if p is None:
                if None in dims and _has_sparse_level(v.type):
                    raise UnsupportedOp(op, "a sparse tensor with a unit dimension")
                return Leaf(input_index(v), tuple(UNIT if d is None else f"#{d}" for d in dims))
            ptree = trees[p]
            # The producer's expression is inlined (recomputed per use) with all its variables
            # renamed apart for this use; its result dims are unified with this operand's dims.
            expr = _canonical(ptree.expr, uf)
            suffix = f"@{next(use_ids)}"
            expr = rename(expr, {v: v + suffix for v in all_vars(expr)})
            for t, d in enumerate(dims):
                if d is None or ptree.out_dims[t] is None:
                    continue
                uf.union(uf.find(f"%{p}.{ptree.out_dims[t]}") + suffix, f"%{n}.{d}")
            return expr

        trees[n] = read_generic(op, n, operand_leaf)
    # region outputs: results used outside the region
    outputs = []
    for n, op in enumerate(ops):
        res = op.results[0]
        if _used_outside(res, op_index):
            outputs.append((res, trees[n]))
    if not outputs:
        raise FuseflowError(f"{name}: region has no result used outside it")
    # canonical variable names in order of first appearance
    canon: dict[str, str] = {UNIT: UNIT}
    exprs = []
    bound: dict = {}
    for res, tree in outputs:
        e = _share_bound(_canonical(tree.expr, uf), bound)
        n = ops.index(tree.op)
        out_vars = tuple(UNIT if d is None else uf.find(f"%{n}.{d}") for d in tree.out_dims)
        exprs.append((res, e, out_vars))
    order_seen = []
    for _, e, out_vars in exprs:
        for v in list(out_vars) + _vars_in_order(e):
            if v not in canon:  # (UNIT is pre-seeded: it is no variable)
                order_seen.append(v)
                k = len(order_seen) - 1
                canon[v] = VAR_NAMES[k] if k < len(VAR_NAMES) else f"v{k}"
    region = Region(name, ops, inputs, [])
    for res, e, out_vars in exprs:
        region.outputs.append(Output(res, rename(e, canon), tuple(canon[v] for v in out_vars)))
    region.vars = [canon[v] for v in order_seen]
    return region


def _has_sparse_level(t: ir.Type) -> bool:
    from fuseflow.dialects.sam import tensor_level_formats

    return encoding(t) is not None and any(str(f) != "dense" for f in tensor_level_formats(t) or ["?"])


def _used_outside(v: ir.Value, op_index: dict) -> bool:
    """A use outside the region's ops, looking through unit reshapes (read through by the
    region's reads: one whose uses are all inside the region is no use outside)."""
    for u in v.uses:
        if _key(u.owner) in op_index:
            continue
        res = list(u.owner.results)
        if len(res) == 1 and is_unit_reshape(res[0]) and not _used_outside(res[0], op_index):
            continue
        return True
    return False


def _key(op) -> object:
    if op is None:
        return None
    op = op.operation if hasattr(op, "operation") else op
    return op


def _canonical(e: Expr, uf: _UnionFind) -> Expr:
    if isinstance(e, Leaf):
        return Leaf(e.tensor, tuple(v if v == UNIT else uf.find(v) for v in e.vars))
    if isinstance(e, Reduce):
        return Reduce(e.kind, uf.find(e.var), _canonical(e.arg, uf), e.stored)
    return Map(e.kind, tuple(_canonical(a, uf) for a in e.args), e.scalar, e.stored)


def _share_bound(e: Expr, names: dict) -> Expr:
    """``e`` with the variable of every reduction named after the reduction's structure: the
    copies of one producer inlined at several uses (renamed apart when read) become equal
    expressions again, one node that the lowering builds once and fans out."""
    if isinstance(e, Leaf):
        return e
    if isinstance(e, Map):
        return Map(e.kind, tuple(_share_bound(a, names) for a in e.args), e.scalar, e.stored)
    arg = _share_bound(e.arg, names)
    # named by its structure up to the names of its free variables: the reduction inside every
    # use of one producer gets one variable, even where the uses index it differently
    free = dict.fromkeys(v for v in _vars_in_order(arg) if v != e.var)
    key = (e.kind, e.stored, rename(arg, {e.var: "?", **{v: f"#{n}" for n, v in enumerate(free)}}))
    var = names.setdefault(key, e.var)
    return Reduce(e.kind, var, rename(arg, {e.var: var}), e.stored)


def all_vars(e: Expr) -> set[str]:
    """Every index variable of an expression, bound or free (unit dimensions excluded)."""
    if isinstance(e, Leaf):
        return set(e.vars) - {UNIT}
    if isinstance(e, Reduce):
        return {e.var} | all_vars(e.arg)
    return set().union(*(all_vars(a) for a in e.args))


def _vars_in_order(e: Expr) -> list[str]:
    if isinstance(e, Leaf):
        return [v for v in e.vars if v != UNIT]
    if isinstance(e, Reduce):
        return _vars_in_order(e.arg) + [e.var]
    return [v for a in e.args for v in _vars_in_order(a)]
