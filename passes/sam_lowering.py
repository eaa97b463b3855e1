"""Building the SAM graph of one region output in one dataflow order (the lowering table).

SAM_SEMANTICS.md section 4, steps 4-8. Loop contexts: the tree root iterates the output
variables; the operand of a reduction over ``k`` iterates the variables of its context that
come before ``k`` (shared with the context: one joiner serves both, the operand is recomputed
per iteration), ``k``, then the context's later variables that its value depends on, its
*trailing* variables (``einsum.reduction_loops``). A step iterates one variable in one context: the
subtree is co-iterated in one joiner tree that mirrors the expression (products and quotients
intersect, sums and max/min unite with ``N`` filling the missing side, unary ops pass
through); each leaf that indexes the variable contributes a ``fiber_lookup`` of its next storage
level, and each leaf or finished reduction in the subtree that does not index it has its
reference or value repeated over the joined coordinates (a broadcast). Every stream is built
once per (leaf, variable): the table's cells.

A reduction is closed once its operand is fully iterated: ``reduce`` when ``k`` is innermost,
else a sparse accumulator of order 1 or 2 whose output levels are the trailing variables. Its
context then iterates those variables with the accumulator's coordinates, its value as the
joiner payload (a computed view); a later context variable it does not depend on repeats its
value. Steps run in dataflow order, one that reads an accumulator waiting until it is closed.
Leaves become ``array`` loads and ``Map`` nodes ALUs. Outputs get one ``fiber_write`` per level,
in dataflow order (dense where the iteration at that variable covers the whole dimension,
compressed otherwise), and one ``val_write``. ``DryBuilder`` runs the same decisions without
building IR (the order enumeration asks it whether an order with accumulators lowers).

A ``stored`` Map iterates the stored entries of the operand it carries (``_join_stored``: an
intersection with the other operands, which must cover the dimension); ``sample`` intersects and
keeps its left value; a unit (size-1, dense) level needs no lookup; an output with unit
dimensions is written without them (``unit_free_type``) and reshaped by the program.
"""

from __future__ import annotations

import itertools
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
    free_vars,
    level_dims,
    reduction_loops,
)

INTERSECT_KINDS = {"mul", "div", "sample"}
UNION_KINDS = {"add", "sub", "max", "min"}


class LoweringError(FuseflowError):
    """The expression cannot be lowered in the chosen order (the message says why)."""


@dataclass(eq=False)
class _Node:
    expr: Expr
    children: list[_Node] = field(default_factory=list)
    depth: int = 0

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.expr, Leaf)

    def nodes(self) -> list[_Node]:
        return [self, *(x for c in self.children for x in c.nodes())]


def _annotate(e: Expr, depth: int = 0) -> _Node:
    if isinstance(e, Leaf):
        return _Node(e, [], depth)
    if isinstance(e, Reduce):
        return _Node(e, [_annotate(e.arg, depth + 1)], depth)
    return _Node(e, [_annotate(a, depth + 1) for a in e.args], depth)


@dataclass
class _Iter:
    """The co-iteration of a subtree at one variable: joined coordinates, the payload each
    participant (a leaf's ref, an accumulated reduction's value) has after the joiners, and
    whether it covers the whole dimension."""

    crd: ir.Value
    refs: dict[int, ir.Value]  # id(node) -> ref (leaf) or val (accumulated reduction) stream
    full: bool
    may_empty: bool = False  # a fiber can be empty under an outer coordinate (an intersection)


Layout = tuple[list[int] | None, list[str]]  # tensor dimension and format of each level


def layout_of(t: ir.Type) -> Layout:
    from fuseflow.dialects.sam import tensor_level_formats

    formats = tensor_level_formats(t)
    return level_dims(t), [str(f) for f in formats] if formats is not None else []


class DryBuilder:
    """A builder that builds nothing: ``OutputLowering`` run with it checks that an order can
    be lowered (every decision and error of the real lowering) without creating IR."""

    def __getattr__(self, name):
        if name in ("intersect", "union"):
            return lambda crds, payloads, index: (object(), [object() for _ in payloads])
        if name == "fiber_lookup":
            return lambda *a: (object(), object())
        if name == "spacc":
            return lambda crds, val: ([object() for _ in crds[1:]], object())
        return lambda *a, **k: object()


class OutputLowering:
    """Lowers ``output`` of ``region`` in ``order`` with builder ``b`` over graph arguments
    ``args`` (one per region input); ``build()`` returns the output tensor value.

    Loop contexts: the tree root iterates the output variables; the operand of a reduction
    iterates its context's variables before the reduction variable (shared: one joiner serves
    both), the reduction variable, then its trailing variables (``reduction_loops``). A step is
    one context's iteration of one of its own variables; steps run in dataflow order, a step
    that reads an accumulated reduction waiting until that reduction is closed (its operand
    fully iterated, its ``reduce`` or ``spacc`` built)."""

    def __init__(self, b: SamBuilder | DryBuilder, region: Region, output: Output, order: list[str],
                 args: list[ir.Value] | None, layouts: list[Layout] | None = None):
        self.b = b
        self.region = region
        self.output = output
        used = all_vars(output.expr)
        self.order = [v for v in order if v in used]
        self.args = args if args is not None else [None] * len(region.inputs)
        self.layouts = layouts if layouts is not None else [layout_of(a.type) for a in args]
        self.pos = {v: n for n, v in enumerate(self.order)}
        self.tree = _annotate(output.expr)
        self.nodes = self.tree.nodes()
        # id(reduce node) -> the reduce nodes directly inside its operand (no reduce between)
        self.inner_reduces: dict[int, list[int]] = {}
        for n in self.nodes:
            if isinstance(n.expr, Reduce):
                stack, inner = list(n.children), []
                while stack:
                    x = stack.pop()
                    if isinstance(x.expr, Reduce):
                        inner.append(id(x))
                    else:
                        stack.extend(x.children)
                self.inner_reduces[id(n)] = inner
        self.ctx: dict[int, list[str]] = {}  # id(context top) -> its loop variables, in order
        self.trailing: dict[int, list[str]] = {}  # id(reduce node) -> its accumulator levels
        self.owned: dict[int, list[str]] = {}  # id(context top) -> the variables it steps
        self._contexts(self.tree, [v for v in self.order if v in output.vars])
        self.ref: dict[int, ir.Value] = {}  # id(leaf) -> ref stream
        self.cursor: dict[int, int] = {}  # id(leaf) -> next storage level
        self.val: dict[int, ir.Value] = {}  # id(closed reduce node) -> value stream
        self.acc_crd: dict[tuple[int, str], ir.Value] = {}  # (id(reduce), var) -> spacc crd
        self.crd: dict[tuple[int, str], ir.Value] = {}  # (id(context top), var) -> step crd
        self.full: dict[tuple[int, str], bool] = {}
        self.may_empty: dict[tuple[int, str], bool] = {}
        self.done: set[tuple[int, str]] = set()  # (id(context top), var) iterated
        self._loops: dict[tuple[int, str], tuple[list[_Node], list[_Node]]] = {}

    def _contexts(self, node: _Node, ctx: list[str]) -> None:
        if node is self.tree:
            self.ctx[id(node)] = ctx
            self.owned[id(node)] = list(ctx)
        e = node.expr
        if isinstance(e, Reduce):
            child = node.children[0]
            free = free_vars(e)
            self.ctx[id(child)], self.trailing[id(node)] = reduction_loops(e.var, free, ctx, self.pos)
            self.owned[id(child)] = [e.var, *self.trailing[id(node)]]
            self._contexts(child, self.ctx[id(child)])
        else:
            for c in node.children:
                self._contexts(c, ctx)

    # -- iteration -------------------------------------------------------------------------
    def build(self) -> ir.Value | None:
        """The output tensor value (None with a ``DryBuilder``: the order lowers)."""
        root_ref = self.b.root()
        tops = {id(n): n for n in self.nodes if id(n) in self.ctx}
        for leaf in self.nodes:
            if leaf.is_leaf:
                self.ref[id(leaf)] = root_ref
                self.cursor[id(leaf)] = 0
        pending = sorted(((self.pos[v], -tops[t].depth, t, v) for t, vs in self.owned.items() for v in vs),
                         key=lambda s: s[:2])
        reduces = sorted((n for n in self.nodes if isinstance(n.expr, Reduce)), key=lambda n: -n.depth)
        while pending:
            ready = next((s for s in pending if self._ready(tops[s[2]], s[3])), None)
            if ready is None:
                raise LoweringError(f"{self.region.name}: no loop can proceed in order "
                                    f"{','.join(self.order)} (a reduction waits on itself)")
            pending.remove(ready)
            self._step(tops[ready[2]], ready[3])
            for r in list(reduces):  # deepest first: a closed inner reduction can close its outer
                if self._closable(r):
                    self._close(r)
                    reduces.remove(r)
        if isinstance(self.b, DryBuilder):
            return None
        return self._write()

    def _frontier(self, node: _Node, v: str, contexts: list[_Node] | None = None) -> list[_Node]:
        """Leaves and accumulated reductions iterated by ``node``'s loop at ``v`` (reductions
        whose variable comes later are looked through: their operand shares the loop)."""
        e = node.expr
        if isinstance(e, Leaf):
            return [node]
        if isinstance(e, Reduce):
            if self.pos[v] > self.pos[e.var]:
                return [node]
            if contexts is not None:
                contexts.append(node.children[0])
            return self._frontier(node.children[0], v, contexts)
        return [x for c in node.children for x in self._frontier(c, v, contexts)]

    def _loop(self, top: _Node, v: str) -> tuple[list[_Node], list[_Node]]:
        """(frontier, the contexts that share the loop) of step ``(top, v)``; computed once."""
        key = (id(top), v)
        got = self._loops.get(key)
        if got is None:
            contexts = [top]
            got = self._loops[key] = (self._frontier(top, v, contexts), contexts)
        return got

    def _ready(self, top: _Node, v: str) -> bool:
        frontier, contexts = self._loop(top, v)
        for c in contexts:
            ctx = self.ctx[id(c)]
            if any((id(c), u) not in self.done for u in ctx[:ctx.index(v)]):
                return False
        return all(id(n) in self.val for n in frontier if not n.is_leaf)

    def _closable(self, r: _Node) -> bool:
        child = r.children[0]
        return all((id(child), v) in self.done for v in self.ctx[id(child)]) and \
            all(n in self.val for n in self.inner_reduces[id(r)])

    def _step(self, top: _Node, v: str) -> None:
        frontier, contexts = self._loop(top, v)
        it = self._join(top, v)
        if it is None:
            raise LoweringError(f"{self.region.name}: no operand indexes {v}; broadcasting "
                                f"into a new dimension is not lowered")
        self.crd[(id(top), v)], self.full[(id(top), v)] = it.crd, it.full
        self.may_empty[(id(top), v)] = it.may_empty
        self.done.update((id(c), v) for c in contexts)
        sig = None
        for node in frontier:
            streams = self.ref if node.is_leaf else self.val
            if id(node) in it.refs:
                streams[id(node)] = it.refs[id(node)]
            else:  # broadcast along v
                sig = sig if sig is not None else self.b.repeat_sig_gen(it.crd)
                streams[id(node)] = self.b.repeat_sig(streams[id(node)], sig)

    def _close(self, r: _Node) -> None:
        """Build a reduction once its operand is fully iterated: ``reduce`` when its variable
        is innermost, else a sparse accumulator whose output levels are the trailing
        variables (innermost first in, outermost first out)."""
        e: Reduce = r.expr
        child = r.children[0]
        val = self._value(child)
        after = self.trailing[id(r)]
        if not after:
            if e.kind in ("max", "min") and not self.full[(id(child), e.var)] and not e.stored:
                raise LoweringError(f"{self.region.name}: a {e.kind} reduction over a sparse {e.var} "
                                    "would ignore the implicit zeros; not lowered")
            self.val[id(r)] = self.b.reduce(val, e.kind)
            return
        inner_first = [self.crd[(id(child), v)] for v in reversed(after)] + [self.crd[(id(child), e.var)]]
        out_crds, self.val[id(r)] = self.b.spacc(inner_first, val)
        for v, c in zip(reversed(after), out_crds, strict=True):
            self.acc_crd[(id(r), v)] = c

    def _join(self, node: _Node, v: str) -> _Iter | None:
        e = node.expr
        if isinstance(e, Leaf):
            return self._lookup(node, v) if v in e.vars else None
        if isinstance(e, Reduce):
            if self.pos[v] < self.pos[e.var]:
                return self._join(node.children[0], v)
            if v in self.trailing[id(node)]:  # the accumulator's output level, its value as payload
                return _Iter(self.acc_crd[(id(node), v)], {id(node): self.val[id(node)]}, False, True)
            return None
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
        if kind == "intersect":
            may_empty = any(p.may_empty for p in parts) or sum(not p.full for p in parts) >= 2
        else:
            may_empty = all(p.may_empty for p in parts)
        return _Iter(crd, dict(zip(owners, outs, strict=True)), full, may_empty)

    def _lookup(self, leaf: _Node, v: str) -> _Iter:
        e: Leaf = leaf.expr
        dims, formats = self.layouts[e.tensor]
        level = self.cursor[id(leaf)]
        while dims is not None and level < len(dims) and e.vars[dims[level]] == UNIT:
            level += 1  # a dense size-1 level: the position is unchanged (p * 1 + 0)
        if dims is None or level >= len(dims) or e.vars[dims[level]] != v:
            raise LoweringError(f"{self.region.name}: {v} does not follow the storage order of input {e.tensor}")
        fmt = formats[level]
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
        return self.val[id(node)]

    # -- outputs ---------------------------------------------------------------------------
    def _write(self) -> ir.Value:
        out = self.output
        top = id(self.tree)
        ovars = self.ctx[top]
        val = self._value(self.tree)
        crds = {v: self.crd[(top, v)] for v in ovars}
        formats = {v: "dense" if self.full[(top, v)] else "compressed" for v in ovars}
        # a compressed level must not keep a coordinate whose fiber below came out empty (an
        # intersection or accumulator under it): crd_drop, innermost pair first
        for outer, inner in reversed(list(itertools.pairwise(ovars))):
            if formats[outer] == "compressed" and self.may_empty[(top, inner)]:
                crds[outer], crds[inner] = self.b.crd_drop(crds[outer], crds[inner])
                self.may_empty[(top, outer)] = True
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
