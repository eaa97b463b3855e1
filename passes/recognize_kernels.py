"""fuseflow-recognize-kernels: tag linalg ops with what they compute (`fuseflow.kind`) and
multi-op patterns (softmax, masked softmax, layernorm) with a group."""

from __future__ import annotations

from fuseflow.bindings import ir, op_name
from fuseflow.passes.body_analysis import (
    body_ops,
    float_constant,
    is_constant_like,
    is_fill,
    iterators,
    yielded,
)
from fuseflow.passes.ir_utils import encoding, num_inputs, users
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register

KIND, PATTERN, GROUP, ROLE = "fuseflow.kind", "fuseflow.pattern", "fuseflow.group", "fuseflow.role"

_SINGLE = {
    "arith.addf": "add", "arith.subf": "sub", "arith.mulf": "mul", "arith.divf": "div",
    "math.exp": "exp", "math.rsqrt": "rsqrt", "math.sqrt": "sqrt", "math.tanh": "tanh",
    "arith.negf": "neg", "arith.truncf": "cast", "arith.extf": "cast", "arith.cmpf": "compare",
    "arith.select": "select", "math.erf": "erf", "arith.maximumf": "max", "arith.minimumf": "min",
}
_NAMED = {"linalg.matmul": "matmul", "linalg.batch_matmul": "batch_matmul",
          "linalg.transpose": "transpose", "linalg.fill": "fill", "linalg.matvec": "matvec",
          "linalg.broadcast": "broadcast", "linalg.copy": "copy"}


def classify(op: ir.Operation) -> str:
    """The `fuseflow.kind` of a linalg op (see the pass docstring for the list)."""
    name = op_name(op)
    if name != "linalg.generic":
        return _NAMED.get(name, name.removeprefix("linalg."))
    if is_fill(op):
        return "fill"
    its = iterators(op)
    ops = [o for o in body_ops(op) if not is_constant_like(o)]
    names = [op_name(o) for o in ops]
    block = op.regions[0].blocks[0]
    n_in = num_inputs(op)
    if any(n.startswith("sparse_tensor.") for n in names):
        return _classify_sparse(ops)
    if "reduction" in its:
        outs = list(block.arguments)[n_in:]
        if "arith.maximumf" in names or "arith.maxnumf" in names:
            return "max"
        if names == ["arith.addf"] and n_in == 1:
            return "sum"
        if names in (["arith.mulf", "arith.addf"], ["arith.addf", "arith.mulf"]) and outs:
            return "matmul"
        return "reduction"
    if not ops:
        ys = yielded(op)
        return "copy" if ys and any(y == a for y in ys for a in block.arguments) else "elementwise"
    if _is_relu(ops):
        return "relu"
    if "math.erf" in names and names.count("arith.mulf") >= 2:
        return "gelu"
    if "math.tanh" in names and "arith.mulf" in names and len(names) > 3:
        return "gelu"
    if names == ["arith.negf", "math.exp", "arith.addf", "arith.divf"]:
        return "sigmoid"
    if len(ops) == 1:
        kind = _SINGLE.get(names[0], "elementwise")
        if kind in ("mul", "div") and _has_scalar_operand(op, ops[0]):
            return "scale"
        return kind
    return "elementwise"


def _classify_sparse(ops: list[ir.Operation]) -> str:
    """Kinds of the stored-entries bodies (sparse_tensor.binary / reduce / unary)."""
    if len(ops) != 1:
        return "elementwise"
    op = ops[0]
    inner = [op_name(o) for r in op.regions for b in r.blocks for o in b.operations]
    name = op_name(op)
    if name == "sparse_tensor.binary" and inner == ["sparse_tensor.yield"]:
        return "sample"
    if name == "sparse_tensor.reduce":
        return {"arith.maximumf": "max", "arith.addf": "sum"}.get(inner[0], "reduction")
    if name == "sparse_tensor.unary":
        if "math.exp" in inner:
            return "exp"
        if inner[:1] == ["arith.divf"]:
            return "div"
    return "elementwise"


def _is_relu(ops: list[ir.Operation]) -> bool:
    names = [op_name(o) for o in ops]
    if names == ["arith.cmpf", "arith.select"]:
        return float_constant(ops[1].operands[2]) == 0.0 and ops[1].operands[1] == ops[0].operands[0]
    if names in (["arith.maximumf"], ["arith.maxnumf"]):
        return any(float_constant(v) == 0.0 for v in ops[0].operands)
    return False


def _has_scalar_operand(generic: ir.Operation, op: ir.Operation) -> bool:
    """mul/div where one factor is a constant or a 0-d tensor input (a scalar)."""
    block = generic.regions[0].blocks[0]
    for v in op.operands:
        if float_constant(v) is not None:
            return True
        for k in range(num_inputs(generic)):
            t = generic.operands[k].type
            if v == block.arguments[k] and isinstance(t, ir.RankedTensorType) and t.rank == 0:
                return True
    return False


def producer(v: ir.Value) -> ir.Operation | None:
    """The op defining ``v``, looking through reshapes and casts."""
    while isinstance(v, ir.OpResult):
        op = v.owner.operation
        if op_name(op) in ("tensor.expand_shape", "tensor.collapse_shape", "tensor.cast"):
            v = op.operands[0]
            continue
        return op
    return None


def _kind(op: ir.Operation | None) -> str | None:
    if op is None or KIND not in op.attributes:
        return None
    return ir.StringAttr(op.attributes[KIND]).value


def _consumers(op: ir.Operation, kind: str) -> list[ir.Operation]:
    """Users of ``op``'s first result (through reshapes) whose kind is ``kind``."""
    out = []
    frontier = [op.results[0]]
    while frontier:
        v = frontier.pop()
        for u in users(v):
            if op_name(u) in ("tensor.expand_shape", "tensor.collapse_shape", "tensor.cast"):
                frontier.append(u.results[0])
            elif _kind(u) == kind:
                out.append(u)
    return out


@register
class RecognizeKernelsPass(ModulePass):
    """Tag linalg ops with their kind, and softmax/masked-softmax/layernorm groups.

    Every linalg op gets a `fuseflow.kind`; the ops of softmax / masked softmax / layernorm
    occurrences also get `fuseflow.pattern`, `fuseflow.group` and `fuseflow.role`.

    Kinds (string attribute `fuseflow.kind`):
      named ops: matmul, batch_matmul, transpose, fill, broadcast, copy, matvec; a generic
      broadcasting a scalar (generalized fill) is a fill too;
      elementwise generics: relu (`select(x > 0, x, 0)` or `max(x, 0)`), gelu (erf or tanh
      form), sigmoid, exp, rsqrt, sqrt, tanh, erf, neg, add, sub, mul, div, scale (mul/div by a
      constant or a 0-d tensor), cast, compare, select, copy (pure data movement), elementwise;
      reductions: sum, max (with or without torch's argmax result), matmul (a mul/add
      contraction), reduction.
    Patterns (all ops of one occurrence share `fuseflow.group`, an i64 numbering the
    occurrences in program order from 0):
      softmax: max(X) -> sub(X, max) -> exp -> sum -> div, roles max, sub, exp, sum, div.
      masked_softmax: a softmax whose X is `select(compare(M), c, S)` with M sparse (PyTorch's
        `S.masked_fill(M == 0, -inf)`); the compare and select get roles mask, select.
        `fuseflow-sparsify-masked-softmax` rewrites it to a softmax over M's stored entries,
        whose ops (kinds sample, max, exp, sum, div on sparse_tensor.binary/reduce/unary
        bodies) are recognized again as masked_softmax with roles sample, max, exp, sum, div.
      layernorm: normalize = sub(X, mean) * rsqrt(var + eps), with the statistics ops
        (role statistic), center, normalize, and the optional affine scale/shift by 1-D
        tensors (roles scale, shift).
    Preconditions: linalg-on-tensors IR (named ops or generalized). Guarantees: attributes
    only; IR unchanged otherwise; running it twice gives the same tags. Options: none.
    """

    name = "fuseflow-recognize-kernels"

    def run(self, module: ir.Operation) -> None:
        linalg_ops = []

        def visit(op):
            if op_name(op).startswith("linalg.") and op_name(op) not in ("linalg.yield",
                                                                         "linalg.index"):
                linalg_ops.append(op.operation)
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for op in linalg_ops:
            op.attributes[KIND] = ir.StringAttr.get(classify(op))
            for attr in (PATTERN, GROUP, ROLE):
                if attr in op.attributes:
                    del op.attributes[attr]
        self._next_group = 0
        for op in linalg_ops:
            if _kind(op) == "exp":
                self._softmax(op)
        for op in linalg_ops:
            if _kind(op) == "sample":
                self._stored_softmax(op)
        for op in linalg_ops:
            if _kind(op) == "rsqrt":
                self._layernorm(op)
        self._renumber(linalg_ops)

    def _renumber(self, ops: list[ir.Operation]) -> None:
        """Number groups by their first op in program order (stable across pattern kinds)."""
        new: dict[int, int] = {}
        i64 = ir.IntegerType.get_signless(64)
        for op in ops:
            if GROUP in op.attributes:
                old = ir.IntegerAttr(op.attributes[GROUP]).value
                op.attributes[GROUP] = ir.IntegerAttr.get(i64, new.setdefault(old, len(new)))

    def _tag(self, pattern: str, roles: dict[str, list[ir.Operation]]) -> None:
        gid = self._next_group
        self._next_group += 1
        for role, ops in roles.items():
            for op in ops:
                op.attributes[PATTERN] = ir.StringAttr.get(pattern)
                op.attributes[GROUP] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), gid)
                op.attributes[ROLE] = ir.StringAttr.get(role)

    def _softmax(self, exp: ir.Operation) -> None:
        sub = producer(exp.operands[0])
        if _kind(sub) != "sub" or PATTERN in sub.attributes:
            return
        x, m = sub.operands[0], sub.operands[1]
        mx = producer(m)
        if _kind(mx) != "max" or mx.operands[0] != x:
            return
        sums = _consumers(exp, "sum")
        divs = [d for d in _consumers(exp, "div") if d.operands[0] == exp.results[0]]
        if len(sums) != 1 or len(divs) != 1 or producer(divs[0].operands[1]) != sums[0]:
            return
        roles = {"max": [mx], "sub": [sub], "exp": [exp], "sum": sums, "div": divs}
        sel = producer(x)
        pattern = "softmax"
        if _kind(sel) == "select":
            cmp = producer(sel.operands[0])
            if _kind(cmp) == "compare" and any(encoding(v.type) is not None for v in cmp.operands[:num_inputs(cmp)]):
                pattern = "masked_softmax"
                roles = {"mask": [cmp], "select": [sel], **roles}
        self._tag(pattern, roles)

    def _stored_softmax(self, sample: ir.Operation) -> None:
        """The form `fuseflow-sparsify-masked-softmax` writes: sample -> max -> exp -> sum -> div."""
        maxes = _consumers(sample, "max")
        exps = [e for e in _consumers(sample, "exp") if maxes and e.operands[1] == maxes[0].results[0]]
        if len(maxes) != 1 or len(exps) != 1:
            return
        sums = _consumers(exps[0], "sum")
        divs = [d for d in _consumers(exps[0], "div") if sums and d.operands[1] == sums[0].results[0]]
        if len(sums) != 1 or len(divs) != 1:
            return
        self._tag("masked_softmax", {"sample": [sample], "max": maxes, "exp": exps, "sum": sums,
                                     "div": divs})

    def _layernorm(self, rsqrt: ir.Operation) -> None:
        for norm in _consumers(rsqrt, "mul"):
            center = producer(norm.operands[0])
            if _kind(center) != "sub" or PATTERN in norm.attributes:
                continue
            x, mean = center.operands[0], producer(center.operands[1])
            if _kind(mean) not in ("scale", "div"):
                continue
            total = producer(mean.operands[0])
            if _kind(total) != "sum" or total.operands[0] != x:
                continue
            stats = self._slice(rsqrt, x) + [mean, total]
            roles = {"statistic": stats, "center": [center], "normalize": [norm]}
            last = norm
            for role, kind in (("scale", "mul"), ("shift", "add")):
                nxt = [u for u in _consumers(last, kind) if self._affine(u, last)]
                if len(nxt) != 1 or len(users(last.results[0])) != 1:
                    break
                roles[role] = nxt
                last = nxt[0]
            self._tag("layernorm", roles)
            return

    def _affine(self, op: ir.Operation, prev: ir.Operation) -> bool:
        """``op`` combines ``prev``'s result with a 1-D tensor (gamma or beta)."""
        if op.operands[0] != prev.results[0] or num_inputs(op) != 2:
            return False
        t = op.operands[1].type
        return isinstance(t, ir.RankedTensorType) and t.rank == 1

    def _slice(self, root: ir.Operation, stop: ir.Value) -> list[ir.Operation]:
        """``root`` and the generics it depends on, not crossing the value ``stop`` (nor its
        producer, which a reshape of ``stop`` would otherwise lead to)."""
        stop_owner = producer(stop)
        seen: list[ir.Operation] = []
        todo = [root]
        while todo:
            op = todo.pop()
            if any(op == s for s in seen):
                continue
            seen.append(op)
            for v in op.operands:
                if v == stop:
                    continue
                p = producer(v)
                if stop_owner is not None and p == stop_owner:
                    continue
                if p is not None and op_name(p) == "linalg.generic" and not is_fill(p):
                    todo.append(p)
        return seen
