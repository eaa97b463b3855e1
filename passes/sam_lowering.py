"""Building the SAM graph of one region output in one dataflow order (the lowering table).

SAM_SEMANTICS.md section 4, steps 4-8. Variables are visited in the chosen order. At variable
``v`` the subtree that iterates ``v`` (the whole tree for an output variable, the operand of the
reduction over ``v`` otherwise) is co-iterated in one joiner tree that mirrors the expression:
products and quotients intersect, sums and max/min unite (``N`` fills the missing side), unary
ops pass through. Each leaf that indexes ``v`` contributes a ``fiber_lookup`` of its next storage
level; each leaf in that subtree that does not index ``v`` has its reference repeated over the
joined coordinates (a broadcast). Every stream is built once per (leaf, variable): the table's
cells. After the last variable, leaves become ``array`` loads, ``Map`` nodes ALUs and ``Reduce``
nodes ``reduce`` (the reduction variable is innermost in its operand's scope) or, at the root, a
sparse accumulator of order 1 or 2 when up to two output variables follow it. Outputs get one
``fiber_write`` per level, in dataflow order (dense where the iteration at that variable covers
the whole dimension, compressed otherwise), and one ``val_write``.

A ``stored`` Map iterates the stored entries of the operand it carries (``_join_stored``: an
intersection with the other operands, which must cover the dimension); ``sample`` intersects and
keeps its left value; a unit (size-1, dense) level needs no lookup; an output with unit
dimensions is written without them (``unit_free_type``) and reshaped by the program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fuseflow.bindings import ir
from fuseflow.dialects.sam_builder import SamBuilder
from fuseflow.errors import FuseflowError
from fuseflow.passes.einsum import (
    UNIT,
    ZERO_PRESERVING_SCALAR,
    ZERO_PRESERVING_UNARY,
    Expr,
    Leaf,
    Map,
    Output,
    Reduce,
    Region,
    all_vars,
    level_dims,
)

INTERSECT_KINDS = {"mul", "div", "sample"}
UNION_KINDS = {"add", "sub", "max", "min"}


class LoweringError(FuseflowError):
    """The expression cannot be lowered in the chosen order (the message says why)."""


@dataclass(eq=False)
class _Node:
    expr: Expr
    scope: set[str]
    children: list[_Node] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.expr, Leaf)

    def leaves(self) -> list[_Node]:
        return [self] if self.is_leaf else [x for c in self.children for x in c.leaves()]


def _annotate(e: Expr, scope: set[str]) -> _Node:
    if isinstance(e, Leaf):
        return _Node(e, scope)
    if isinstance(e, Reduce):
        return _Node(e, scope, [_annotate(e.arg, scope | {e.var})])
    return _Node(e, scope, [_annotate(a, scope) for a in e.args])


@dataclass
class _Iter:
    """The co-iteration of a subtree at one variable: joined coordinates, the reference each
    participating leaf has after the joiners, and whether it covers the whole dimension."""

    crd: ir.Value
    refs: dict[int, ir.Value]  # id(leaf node) -> ref stream
    full: bool


def _fmt_at(t: ir.Type, level: int) -> str:
    from fuseflow.dialects.sam import tensor_level_formats

    return str(tensor_level_formats(t)[level])


class OutputLowering:
    """Lowers ``output`` of ``region`` in ``order`` with builder ``b`` over graph arguments
    ``args`` (one per region input); ``build()`` returns the output tensor value."""

    def __init__(self, b: SamBuilder, region: Region, output: Output, order: list[str],
                 args: list[ir.Value]):
        self.b = b
        self.region = region
        self.output = output
        self.order = [v for v in order if v in all_vars(output.expr)]
        self.args = args
        self.tree = _annotate(output.expr, set(output.vars) - {UNIT})
        self.ref: dict[int, ir.Value] = {}
        self.cursor: dict[int, int] = {}
        self.crd: dict[str, ir.Value] = {}
        self.full: dict[str, bool] = {}
        self.pos = {v: n for n, v in enumerate(self.order)}

    # -- iteration -------------------------------------------------------------------------
    def build(self) -> ir.Value:
        root_ref = self.b.root()
        for leaf in self.tree.leaves():
            self.ref[id(leaf)] = root_ref
            self.cursor[id(leaf)] = 0
        for v in self.order:
            top = self._top(self.tree, v)
            it = self._join(top, v)
            if it is None:
                raise LoweringError(f"{self.region.name}: no operand indexes {v}; broadcasting "
                                    f"into a new dimension is not lowered")
            self.crd[v], self.full[v] = it.crd, it.full
            sig = None
            for leaf in top.leaves():
                if id(leaf) in it.refs:
                    self.ref[id(leaf)] = it.refs[id(leaf)]
                else:
                    sig = sig if sig is not None else self.b.repeat_sig_gen(it.crd)
                    self.ref[id(leaf)] = self.b.repeat_sig(self.ref[id(leaf)], sig)
        return self._write()

    def _top(self, node: _Node, v: str) -> _Node:
        if v in node.scope:
            return node
        for c in node.children:
            if v in c.scope or any(v in x.scope for x in c.leaves()):
                return self._top(c, v)
        raise LoweringError(f"{self.region.name}: variable {v} is not in the expression")

    def _join(self, node: _Node, v: str) -> _Iter | None:
        e = node.expr
        if isinstance(e, Leaf):
            return self._lookup(node, v) if v in e.vars else None
        if isinstance(e, Reduce):
            return self._join(node.children[0], v)
        parts = [self._join(c, v) for c in node.children]
        if e.stored:
            restricted = self._join_stored(e, parts, v)
            if restricted is not None:
                return restricted
        if len(node.children) == 1:
            it = parts[0]
            if it is not None and not it.full and not self._zero_preserving(e):
                raise LoweringError(
                    f"{self.region.name}: '{e.kind}' of a sparse operand at {v} would make "
                    "every implicit zero nonzero; the lowering keeps zeros implicit")
            return it
        present = [p for p in parts if p is not None]
        if not present:
            return None
        if e.kind in INTERSECT_KINDS:
            return self._joiner("intersect", present, v, all(p.full for p in present))
        if e.kind not in UNION_KINDS:
            raise LoweringError(f"{self.region.name}: no joiner for '{e.kind}'")
        full = any(p.full for p in present)
        if len(present) < len(parts) and not full:
            raise LoweringError(f"{self.region.name}: '{e.kind}' of a value broadcast along {v} "
                                f"and a sparse operand is dense along {v}; not lowered")
        if full and len(present) < len(parts):
            present = [p for p in present if p.full][:1] + [p for p in present if not p.full]
        return self._joiner("union", present, v, full)

    def _join_stored(self, e: Map, parts: list[_Iter | None], v: str) -> _Iter | None:
        """The iteration of a Map evaluated at the stored entries of the operand its ``stored``
        args carry: that operand's coordinates, the other args located there (they must cover
        the whole dimension, or be broadcast along ``v``). None: nothing sparse at ``v`` (the
        ordinary join applies, everything involved covers the dimension)."""
        carriers = [parts[n] for n in e.stored if parts[n] is not None]
        others = [p for n, p in enumerate(parts) if n not in e.stored and p is not None]
        if not carriers or all(p.full for p in carriers):
            return None
        if any(not p.full for p in others):
            raise LoweringError(f"{self.region.name}: '{e.kind}' at the stored entries of one operand "
                                f"reads another that is sparse along {v}; not lowered")
        return self._joiner("intersect", carriers + others, v, False)

    @staticmethod
    def _zero_preserving(e: Map) -> bool:
        if e.scalar is not None:
            return e.kind in ZERO_PRESERVING_SCALAR or (e.kind in ("max", "min") and e.scalar == 0.0)
        return e.kind in ZERO_PRESERVING_UNARY

    def _joiner(self, kind: str, parts: list[_Iter], v: str, full: bool) -> _Iter:
        if len(parts) == 1:
            return parts[0]
        crds, payloads, owners = [], [], []
        for p in parts:
            for leaf_id, ref in p.refs.items():
                crds.append(p.crd)
                payloads.append(ref)
                owners.append(leaf_id)
        crd, outs = getattr(self.b, kind)(crds, payloads, v)
        return _Iter(crd, dict(zip(owners, outs, strict=True)), full)

    def _lookup(self, leaf: _Node, v: str) -> _Iter:
        e: Leaf = leaf.expr
        t = self.args[e.tensor].type
        dims = level_dims(t)
        level = self.cursor[id(leaf)]
        while dims is not None and level < len(dims) and e.vars[dims[level]] == UNIT:
            level += 1  # a dense size-1 level: the position is unchanged (p * 1 + 0)
        if dims is None or level >= len(dims) or e.vars[dims[level]] != v:
            raise LoweringError(f"{self.region.name}: {v} does not follow the storage order of {t}")
        fmt = _fmt_at(t, level)
        crd, ref = self.b.fiber_lookup(self.args[e.tensor], self.ref[id(leaf)], level, fmt, v)
        self.cursor[id(leaf)] = level + 1
        return _Iter(crd, {id(leaf): ref}, fmt == "dense")

    # -- values ----------------------------------------------------------------------------
    def _value(self, node: _Node) -> ir.Value:
        e = node.expr
        if isinstance(e, Leaf):
            return self.b.array(self.args[e.tensor], self.ref[id(node)])
        if isinstance(e, Map) and e.kind == "sample":
            return self._value(node.children[0])  # the right side only restricts the iteration
        if isinstance(e, Map):
            ins = [self._value(c) for c in node.children]
            return self.b.alu(e.kind, *ins, scalar=e.scalar)
        if e.kind in ("max", "min") and not self.full[e.var] and not e.stored:
            raise LoweringError(f"{self.region.name}: a {e.kind} reduction over a sparse {e.var} "
                                "would ignore the implicit zeros; not lowered")
        return self.b.reduce(self._value(node.children[0]), e.kind)

    # -- outputs ---------------------------------------------------------------------------
    def _write(self) -> ir.Value:
        out = self.output
        ovars = [v for v in self.order if v in out.vars]
        root = self.tree
        trailing: list[str] = []
        if isinstance(root.expr, Reduce):
            trailing = [v for v in ovars if self.pos[v] > self.pos[root.expr.var]]
        if trailing:
            val = self._value(root.children[0])
            inner_first = [self.crd[v] for v in reversed(trailing)] + [self.crd[root.expr.var]]
            out_crds, val = self.b.spacc(inner_first, val)
            crds = {v: c for v, c in zip(reversed(trailing), out_crds, strict=True)}
            formats = {v: "compressed" for v in trailing}
        else:
            val = self._value(root)
            crds, formats = {}, {}
        for v in ovars:
            crds.setdefault(v, self.crd[v])
            formats.setdefault(v, "dense" if self.full[v] else "compressed")
        from fuseflow.dialects.sam import val_elem_type

        # casts (extf/truncf) are read through: the graph writes the values' element type and
        # the program casts the result
        rtype = output_type(unit_free_type(out.value.type, out.vars), [_kept(out.vars).index(v) for v in ovars],
                            [formats[v] for v in ovars], val_elem_type(val.type))
        levels = [self.b.fiber_write(crds[v], n, formats[v]) for n, v in enumerate(ovars)]
        return self.b.output(rtype, levels, self.b.val_write(val))


def _kept(vars_: tuple[str, ...]) -> list[str]:
    return [v for v in vars_ if v != UNIT]


def unit_free_type(like: ir.Type, vars_: tuple[str, ...]) -> ir.Type:
    """``like`` without its unit dimensions (dense): the type a graph writes for an output with
    unit dimensions; the program reshapes it (``tensor.expand_shape``, a free reinterpretation)."""
    rt = ir.RankedTensorType(like)
    if UNIT not in vars_:
        return like
    shape = [n for n, v in zip(rt.shape, vars_, strict=True) if v != UNIT]
    return ir.RankedTensorType.get(shape, rt.element_type)


def output_type(like: ir.Type, level_dims_: list[int], formats: list[str], elem: ir.Type | None = None) -> ir.Type:
    """The graph's result type: ``like``'s shape and element type (or ``elem``), levels in
    dataflow order."""
    rt = ir.RankedTensorType(like)
    elem = rt.element_type if elem is None else elem
    identity = level_dims_ == list(range(rt.rank))
    if identity and all(f == "dense" for f in formats):
        return ir.RankedTensorType.get(rt.shape, elem)
    dims = ", ".join(f"d{d}" for d in range(rt.rank))
    lvls = ", ".join(f"d{d} : {f}" for d, f in zip(level_dims_, formats, strict=True))
    enc = ir.Attribute.parse(f"#sparse_tensor.encoding<{{ map = ({dims}) -> ({lvls}) }}>")
    return ir.RankedTensorType.get(rt.shape, elem, enc)
