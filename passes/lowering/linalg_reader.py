"""Reading ``linalg.generic`` ops into expressions (SAM_SEMANTICS.md section 4, step 1).

``read_generic`` reads one generic's body into an expression over its own loop dims: arith and
math bodies (add/sub/mul/div/max/min/neg, exp/sqrt/rsqrt/tanh, max/min written as
``select(cmpf)``, casts read through), ops the kernel recognizer tagged (gelu, sigmoid),
reductions from a constant fill, and the normalized masked softmax's ``sparse_tensor`` bodies
(``sample``, stored reductions, stored maps). Unit dimensions drop out (``UNIT``; a reduction
over unit loops only is its one term); an ``expand_shape`` that only inserts unit dimensions is
looked through (``is_unit_reshape``).
Anything else raises ``UnsupportedOp`` naming the op.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fuseflow.bindings import ir, op_name
from fuseflow.errors import UnsupportedOp
from fuseflow.passes.ir_utils import encoding, indexing_maps, num_inputs
from fuseflow.passes.lowering.expr import REDUCE_IDENTITY, Expr, Leaf, Map, Reduce, rename


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
    elif reduction_dims or (any("reduction" in it for it in iters) and any(True for _ in out_arg.uses)):
        # (a reduction over unit loops only, e.g. a matmul with K = 1, sums a single term)
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
