"""Emission: building the SAM graph of one fusion region in one dataflow order (the lowering table).

SAM_SEMANTICS.md section 4, steps 4-11. Every node of the region's fused einsum (a read of an
input, an ALU op, a reduction) iterates exactly its *scope*: its own index variables in
dataflow order, never a loop it does not index. A value reaches a consumer that iterates more
variables by ``repeat``; it is rebuilt under a consumer's loop only where that loop comes before
one of the node's own variables (the node is *driven* by it: its fibers restart per iteration,
a real recomputation, item 10).

Contexts. A context co-iterates one expression tree over a loop nest with one joiner tree per
variable that mirrors the expression (products and quotients intersect, sums and max/min unite
with ``N`` filling the missing side, unary ops pass through). The output's context iterates the
output variables. The operand of a reduction over ``k`` gets its own context: the enclosing
context's variables before ``k`` that its value depends on or is driven by (shared with the
enclosing context: one joiner serves both), ``k``, then the later variables its value depends on
(its *trailing* variables, the output levels of a sparse accumulator). Each leaf that indexes a
variable contributes a ``fiber_lookup`` of its next storage level; a participant that does not
index it has its reference or value repeated over the joined coordinates (a broadcast).

Views (fan-out). A node that several consumers read at the same points (after the region
reader merged equal subexpressions: softmax's scores read by the max and by the subtraction,
layernorm's centred row read by the variance and by the output) is built once in its own
context and becomes a *view*: one coordinate stream per variable of its scope and one value
stream, which every consumer reads (SSA fan-out). A consumer joins a view at the view's
variables; no joiner is needed where every participant reads the same coordinate stream or
covers the whole dimension, and a view may only take part in a real joiner at its innermost
variable (where its payload is its value stream), so a consumer that would filter the view's
outer fibers rebuilds it instead (``RegionLowering`` plans this without building IR first).

A reduction is closed once its operand is fully iterated: ``reduce`` when ``k`` is innermost,
else a sparse accumulator of order 1 or 2 whose output levels are the trailing variables.
Leaves become ``array`` loads and ``Map`` nodes ALUs. Outputs get one ``fiber_write`` per level,
in dataflow order (dense where the iteration at that variable covers the whole dimension,
compressed otherwise), and one ``val_write``. ``DryBuilder`` runs the same decisions without
building IR (the order enumeration asks it whether an order with accumulators lowers).

A ``stored`` Map iterates the stored entries of the operand it carries (``_join_stored``: an
intersection with the other operands, which must cover the dimension); ``sample`` intersects and
keeps its left value; a unit (size-1, dense) level needs no lookup; a sparse input with unit
dimensions is read without them (``Region.graph_type``: its layout names the kept levels); an
output with unit dimensions is written without them (``unit_free_type``) and reshaped by the
program.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from fuseflow.bindings import ir
from fuseflow.dialects.sam_types import block_layout
from fuseflow.errors import LoweringError
from fuseflow.passes.lowering.blocking import tiled_output_type
from fuseflow.passes.lowering.expr import (
    UNIT,
    ZERO_PRESERVING_SCALAR,
    ZERO_PRESERVING_UNARY,
    Expr,
    Leaf,
    Map,
    Reduce,
    free_vars,
    show,
)
from fuseflow.passes.lowering.orders import reduction_loops
from fuseflow.passes.lowering.region import Output, Region, level_dims
from fuseflow.passes.lowering.scopes import driven, plan_views, scope_key

INTERSECT_KINDS = {"mul", "div", "sample"}
UNION_KINDS = {"add", "sub", "max", "min"}


class _ViewJoin(Exception):
    """A consumer would filter the outer fibers of a view (internal: the planner rebuilds that
    node in its consumers instead of sharing it)."""

    def __init__(self, keys, why: str):
        super().__init__(why)
        self.keys = set(keys)


# --------------------------------------------------------------------------------------------
# Streams


@dataclass
class View:
    """A node built once in its own loops: coordinates per variable, its value stream."""

    vars: list[str]  # its scope in dataflow order
    crd: dict[str, ir.Value]
    full: dict[str, bool]  # the iteration covers the dimension (a dense output level)
    clean: dict[str, bool]  # ... token for token in every fiber (no N placeholders)
    may_empty: dict[str, bool]
    val: ir.Value


@dataclass(eq=False)
class _Node:
    expr: Expr
    children: list[_Node] = field(default_factory=list)
    depth: int = 0
    view: View | None = None  # a shared node read as a view
    vmap: dict[str, str] | None = None  # this occurrence's variables -> the view's
    key: object = None  # the view's scope key

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.expr, Leaf) and self.view is None

    def nodes(self) -> list[_Node]:
        return [self, *(x for c in self.children for x in c.nodes())]


@dataclass
class _Iter:
    """The co-iteration of a subtree at one variable: joined coordinates, the payload each
    participant has after the joiners (a leaf's ref, a closed reduction's or a view's value;
    None for a view at one of its outer variables), whether it covers the whole dimension."""

    crd: ir.Value
    refs: dict[int, ir.Value | None]
    full: bool
    clean: bool  # full, token for token (no N placeholder can stand for a fiber)
    may_empty: bool = False  # a fiber can be empty under an outer coordinate
    outer: frozenset = frozenset()  # scope keys of views iterated at an outer level


Layout = tuple[list[int] | None, list[str]]  # tensor dimension and format of each level


def layout_of(t: ir.Type, full: ir.Type | None = None) -> Layout:
    """The layout of a graph argument of type ``t``; ``full``: the type of the region input it
    stands for, when ``t`` is that without its unit dimensions (``drop_unit_levels``): the
    levels then name ``full``'s dimensions, and no level is a unit one."""
    from fuseflow.dialects.sam import tensor_level_formats

    blocked = block_layout(t)
    if blocked is not None:  # its block levels are scanned; the in-block levels are the tiles
        return list(blocked.dims), list(blocked.formats)
    formats = tensor_level_formats(t)
    dims = level_dims(t)
    if full is not None and dims is not None and ir.RankedTensorType(t).rank != ir.RankedTensorType(full).rank:
        kept = [d for d, n in enumerate(ir.RankedTensorType(full).shape) if n != 1]
        dims = [kept[d] for d in dims]
    return dims, [str(f) for f in formats] if formats is not None else []


class DryBuilder:
    """A builder that builds nothing: a lowering run with it checks that an order can be lowered
    (every decision and error of the real lowering) without creating IR."""

    def __getattr__(self, name):
        if name in ("intersect", "union"):
            return lambda crds, payloads, index: (object(), [object() for _ in payloads])
        if name == "fiber_lookup":
            return lambda *a: (object(), object())
        if name == "spacc":
            return lambda crds, val: ([object() for _ in crds[1:]], object())
        return lambda *a, **k: object()


# --------------------------------------------------------------------------------------------
# A region


class RegionLowering:
    """Lowers every output of ``region`` in ``order`` with builder ``b`` over graph arguments
    ``args`` (one per region input); ``build()`` returns the output tensor values (None with a
    ``DryBuilder``). ``shared``: the scope keys built once as views (``plan_views``)."""

    def __init__(self, b, region: Region, order: list[str], args: list | None,
                 layouts: list[Layout] | None, shared: set):
        self.b = b
        self.region = region
        self.order = list(order)
        self.pos = {v: n for n, v in enumerate(self.order)}
        self.args = args if args is not None else [None] * len(region.inputs)
        self.layouts = layouts if layouts is not None else \
            [layout_of(a.type, v.type) for a, v in zip(args, region.inputs, strict=True)]
        self.shared = shared
        self.views: dict = {}  # scope key -> (View, the expression it was built for)
        self.aliases: set[tuple[str, str]] = set()  # (view variable, consumer variable) pairs
        self.outputs: list = []  # the output tensor values, once built (``lower_region``)

    def nest(self, vars_) -> list[str]:
        return sorted((v for v in set(vars_) if v != UNIT), key=self.pos.__getitem__)

    def is_view(self, e: Expr, nest: list[str]) -> bool:
        return not isinstance(e, Leaf) and not driven(e, nest, self.pos) and \
            scope_key(e, self.pos) in self.shared

    def view(self, e: Expr) -> tuple[View, dict[str, str]]:
        """The view of node ``e`` (built on first use) and the map from ``e``'s variables to the
        view's."""
        key = scope_key(e, self.pos)
        got = self.views.get(key)
        if got is None:
            ctx = _Context(self, e, self.nest(free_vars(e)), root_may_be_view=False)
            got = self.views[key] = (ctx.build_view(), e)
        view, built_for = got
        mine = self.nest(free_vars(e))
        theirs = self.nest(free_vars(built_for))
        self.aliases.update((w, v) for v, w in zip(mine, theirs, strict=True) if v != w)
        return view, dict(zip(mine, theirs, strict=True))

    def build(self) -> list[ir.Value | None]:
        return [_Context(self, out.expr, self.nest(out.vars)).build_output(out) for out in self.region.outputs]


def lower_region(b, region: Region, order: list[str], args: list | None,
                 layouts: list[Layout] | None = None) -> RegionLowering:
    """Lower every output of ``region`` in ``order``: where there are views, plan them without
    building IR first (a node a consumer cannot read as a view is rebuilt in its consumers
    instead), then build.
    The result's ``outputs`` are the output tensor values (None with a ``DryBuilder``)."""
    shared = plan_views(region, order)
    while shared:  # with no view to give up, the build below decides alone
        dry = RegionLowering(DryBuilder(), region, order, args, layouts, shared)
        try:
            dry.outputs = dry.build()
        except _ViewJoin as e:
            if not e.keys & shared:
                raise LoweringError(f"{region.name}: {e}; not lowered") from None
            shared = shared - e.keys
            continue
        if isinstance(b, DryBuilder):
            return dry
        break
    low = RegionLowering(b, region, order, args, layouts, shared)
    try:
        low.outputs = low.build()
    except _ViewJoin as e:  # an accumulator's outer level would be filtered
        raise LoweringError(f"{region.name}: {e}; not lowered") from None
    return low


# --------------------------------------------------------------------------------------------
# A context tree


class _Context:
    """One expression tree iterated over ``nest``: the root context plus one context per
    reduction operand inside it (views are built in contexts of their own).

    A step is one context's iteration of one of its own variables; steps run in dataflow order,
    a step that reads a closed reduction waiting until that reduction is closed (its operand
    fully iterated, its ``reduce`` or ``spacc`` built)."""

    def __init__(self, low: RegionLowering, expr: Expr, nest: list[str], root_may_be_view: bool = True):
        self.low = low
        self.b = low.b
        self.name = low.region.name
        self.pos = low.pos
        self.ctx: dict[int, list[str]] = {}  # id(context top) -> its loop variables, in order
        self.trailing: dict[int, list[str]] = {}  # id(reduce node) -> its accumulator levels
        self.owned: dict[int, list[str]] = {}  # id(context top) -> the variables it steps
        self.inner_reduces: dict[int, list[int]] = {}  # id(reduce) -> reduces directly inside
        self.val: dict[int, ir.Value] = {}  # id(closed reduce or view) -> value stream
        self.tree = self._annotate(expr, 0, nest, root=not root_may_be_view)
        self.ctx[id(self.tree)] = list(nest)
        self.owned[id(self.tree)] = list(nest)
        self.nodes = self.tree.nodes()
        self.ref: dict[int, ir.Value] = {}  # id(leaf) -> ref stream
        self.cursor: dict[int, int] = {}  # id(leaf) -> next storage level
        self.maybe_n: set[int] = set()  # leaves and values whose stream may hold N placeholders
        self.acc_crd: dict[tuple[int, str], ir.Value] = {}  # (id(reduce), var) -> spacc crd
        self.crd: dict[tuple[int, str], ir.Value] = {}  # (id(context top), var) -> step crd
        self.full: dict[tuple[int, str], bool] = {}
        self.clean: dict[tuple[int, str], bool] = {}
        self.may_empty: dict[tuple[int, str], bool] = {}
        self.done: set[tuple[int, str]] = set()  # (id(context top), var) iterated
        self._loops: dict[tuple[int, str], tuple[list[_Node], list[_Node]]] = {}

    def _annotate(self, e: Expr, depth: int, nest: list[str], root: bool = False) -> _Node:
        if not root and self.low.is_view(e, nest):
            view, vmap = self.low.view(e)
            node = _Node(e, [], depth, view, vmap, scope_key(e, self.pos))
            if not view.vars:
                self.val[id(node)] = view.val
            return node
        if isinstance(e, Leaf):
            return _Node(e, [], depth)
        if isinstance(e, Reduce):
            loops, after = reduction_loops(e.var, free_vars(e), nest, self.pos)
            child = self._annotate(e.arg, depth + 1, loops)
            node = _Node(e, [child], depth)
            self.ctx[id(child)], self.trailing[id(node)] = loops, after
            self.owned[id(child)] = [e.var, *after]
            stack, inner = [child], []
            while stack:
                x = stack.pop()
                if x.view is not None:
                    continue
                if isinstance(x.expr, Reduce):
                    inner.append(id(x))
                else:
                    stack.extend(x.children)
            self.inner_reduces[id(node)] = inner
            return node
        return _Node(e, [self._annotate(a, depth + 1, nest) for a in e.args], depth)

    # -- iteration -------------------------------------------------------------------------
    def _run(self) -> None:
        root_ref = None
        tops = {id(n): n for n in self.nodes if id(n) in self.ctx}
        for leaf in self.nodes:
            if leaf.is_leaf:
                root_ref = root_ref if root_ref is not None else self.b.root()
                self.ref[id(leaf)] = root_ref
                self.cursor[id(leaf)] = 0
        pending = sorted(((self.pos[v], -tops[t].depth, t, v) for t, vs in self.owned.items() for v in vs),
                         key=lambda s: s[:2])
        reduces = sorted((n for n in self.nodes if isinstance(n.expr, Reduce) and n.view is None),
                         key=lambda n: -n.depth)
        self._close_ready(reduces)
        while pending:
            ready = next((s for s in pending if self._ready(tops[s[2]], s[3])), None)
            if ready is None:
                raise LoweringError(f"{self.name}: no loop can proceed in order "
                                    f"{','.join(self.low.order)} (a reduction waits on itself)")
            pending.remove(ready)
            self._step(tops[ready[2]], ready[3])
            self._close_ready(reduces)

    def _close_ready(self, reduces: list[_Node]) -> None:
        for r in list(reduces):  # deepest first: a closed inner reduction can close its outer
            if self._closable(r):
                self._close(r)
                reduces.remove(r)

    def build_view(self) -> View:
        self._run()
        top = id(self.tree)
        nest = self.ctx[top]
        return View(list(nest), {v: self.crd[(top, v)] for v in nest}, {v: self.full[(top, v)] for v in nest},
                    {v: self.clean[(top, v)] for v in nest}, {v: self.may_empty[(top, v)] for v in nest},
                    self._value(self.tree))

    def build_output(self, out: Output) -> ir.Value | None:
        """The output tensor value (None with a ``DryBuilder``: the order lowers)."""
        self._run()
        if isinstance(self.b, DryBuilder):
            return None
        return self._write(out)

    def _prefix(self, node: _Node) -> list[str]:
        """The variables a reduction's operand shares with its enclosing context."""
        e: Reduce = node.expr
        loops = self.ctx[id(node.children[0])]
        return loops[:loops.index(e.var)]

    def _frontier(self, node: _Node, v: str, contexts: list[_Node]) -> list[_Node]:
        """Leaves, views and values iterated by ``node``'s loop at ``v`` (reductions whose
        operand shares the loop are looked through). A leaf or ALU node whose variables all
        come before ``v`` is *closed*: computed at its own innermost loop, its value repeated."""
        e = node.expr
        if node.view is not None or isinstance(e, Leaf):
            return [node]
        if isinstance(e, Reduce):
            if v not in self._prefix(node):
                return [node]
            contexts.append(node.children[0])
            return self._frontier(node.children[0], v, contexts)
        if self._closed_at(node, v):
            return [node]
        return [x for c in node.children for x in self._frontier(c, v, contexts)]

    def _closed_at(self, node: _Node, v: str) -> bool:
        """Every variable of ``node`` comes before ``v``: its scope is fully iterated."""
        own = [u for u in (node.expr.vars if isinstance(node.expr, Leaf) else free_vars(node.expr)) if u != UNIT]
        return not own or max(self.pos[u] for u in own) < self.pos[v]

    def _reduces_in(self, node: _Node) -> list[int]:
        """The reductions a value of ``node`` needs closed (not looking into views or into
        reductions)."""
        stack, found = [node], []
        while stack:
            x = stack.pop()
            if x.view is not None or x.is_leaf:
                continue
            if isinstance(x.expr, Reduce):
                found.append(id(x))
            else:
                stack.extend(x.children)
        return found

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
        return all(r in self.val for n in frontier for r in self._reduces_in(n))

    def _closable(self, r: _Node) -> bool:
        child = r.children[0]
        return all((id(child), v) in self.done for v in self.ctx[id(child)]) and \
            all(n in self.val for n in self.inner_reduces[id(r)])

    def _step(self, top: _Node, v: str) -> None:
        frontier, contexts = self._loop(top, v)
        it = self._join(top, v)
        if it is None:
            raise LoweringError(f"{self.name}: no operand indexes {v}; broadcasting "
                                f"into a new dimension is not lowered")
        key = (id(top), v)
        self.crd[key], self.full[key], self.clean[key], self.may_empty[key] = it.crd, it.full, it.clean, it.may_empty
        self.done.update((id(c), v) for c in contexts)
        sig = None
        for node in frontier:
            closed = not isinstance(node.expr, Reduce) and node.view is None and self._closed_at(node, v)
            if closed and id(node) not in self.val:  # compute it once, at its own innermost loop
                self.val[id(node)] = self._value(node)
            streams = self.ref if node.is_leaf and not closed else self.val
            if id(node) in it.refs:
                if it.refs[id(node)] is not None:
                    streams[id(node)] = it.refs[id(node)]
                continue
            if id(node) not in streams:  # a view repeated above one of its own loops
                raise _ViewJoin({node.key}, f"a view is repeated over {v} above its own loops")
            sig = sig if sig is not None else self.b.repeat_sig_gen(it.crd)
            streams[id(node)] = self.b.repeat_sig(streams[id(node)], sig)

    def _close(self, r: _Node) -> None:
        """Build a reduction once its operand is fully iterated: ``reduce`` when its variable
        is innermost, else a sparse accumulator whose output levels are the trailing
        variables (innermost first in, outermost first out)."""
        e: Reduce = r.expr
        child = r.children[0]
        val = self._value(child)
        in_tile = self.low.region.tiling.in_tile(e) if self.low.region.block else None
        if in_tile is not None:  # each tile reduced along the variable, then the tiles across blocks
            val = self.b.alu(in_tile, val)
        after = self.trailing[id(r)]
        if not after:
            if e.kind in ("max", "min") and not self.full[(id(child), e.var)] and not e.stored:
                raise LoweringError(f"{self.name}: a {e.kind} reduction over a sparse {e.var} "
                                    "would ignore the implicit zeros (its operand is computed sparse along "
                                    f"{e.var} in this region: a sum of sparse operands or an accumulator's "
                                    "output); not lowered")
            self.val[id(r)] = self.b.reduce(val, e.kind)
            return
        inner_first = [self.crd[(id(child), v)] for v in reversed(after)] + [self.crd[(id(child), e.var)]]
        out_crds, self.val[id(r)] = self.b.spacc(inner_first, val)
        for v, c in zip(reversed(after), out_crds, strict=True):
            self.acc_crd[(id(r), v)] = c

    def _join(self, node: _Node, v: str) -> _Iter | None:
        e = node.expr
        if node.view is not None:
            return self._view_iter(node, v)
        if isinstance(e, Leaf):
            return self._lookup(node, v) if v in e.vars else None
        if isinstance(e, Reduce):
            if v in self._prefix(node):
                return self._join(node.children[0], v)
            after = self.trailing[id(node)]
            if v in after:  # the accumulator's output level, its value as payload innermost
                inner = v == after[-1]
                return _Iter(self.acc_crd[(id(node), v)], {id(node): self.val[id(node)] if inner else None},
                             False, False, True, frozenset() if inner else frozenset({("acc", id(node))}))
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
                    f"{self.name}: '{e.kind}' of a sparse operand at {v} would make "
                    "every implicit zero nonzero; the lowering keeps zeros implicit")
            return it
        present = [p for p in parts if p is not None]
        if not present:
            return None
        if e.kind == "sample" and parts[0] is not None and not parts[0].full:
            # the sampled value has a dense type (sparse scores are refused before): where its
            # iteration misses a coordinate the mask stores, its value is computed from zeros,
            # not absent, and an intersection would drop that entry
            raise LoweringError(f"{self.name}: the masked values {show(e.args[0])} are computed sparse along {v} "
                                "in this order; sampling them would drop the mask's entries they miss; "
                                "not lowered in this order")
        if e.kind in INTERSECT_KINDS:
            return self._joiner("intersect", present, v, all(p.full for p in present))
        if e.kind not in UNION_KINDS:
            raise LoweringError(f"{self.name}: no joiner for '{e.kind}'")
        full = any(p.full for p in present)
        if len(present) < len(parts) and not full:
            raise LoweringError(f"{self.name}: '{e.kind}' of a value broadcast along {v} "
                                f"and a sparse operand is dense along {v}; not lowered")
        if full and len(present) < len(parts):
            present = [p for p in present if p.full][:1] + [p for p in present if not p.full]
        # a participant missing a coordinate is evaluated there from N placeholders (loaded as
        # 0): right only where its value is then 0 (a stored map such as exp(x - max) is not)
        unsound = [show(c.expr) for p, c in zip(parts, node.children, strict=True)
                   if p is not None and not p.full and not self._zero_at_absent(c, v)]
        if unsound and len(present) > 1 and not self._aligned(present):
            raise LoweringError(f"{self.name}: '{e.kind}' at {v} would evaluate {unsound[0]} where it stores "
                                f"nothing, and it is not 0 there; not lowered in this order")
        return self._joiner("union", present, v, full)

    def _zero_at_absent(self, node: _Node, v: str) -> bool:
        """Whether ``node``'s value is 0 where a union fills every leaf of it that indexes ``v``
        with an N placeholder (an N loads as 0; a value broadcast along ``v`` keeps its own)."""
        e = node.expr
        if node.view is not None:
            return v in node.vmap  # its value stream itself carries the N
        if isinstance(e, Leaf):
            return v in e.vars
        if isinstance(e, Reduce):
            if v not in free_vars(e):
                return False
            return v in self.trailing[id(node)] or self._zero_at_absent(node.children[0], v)
        zero = [self._zero_at_absent(c, v) for c in node.children]
        if e.kind in ("sample", "div"):
            return zero[0]
        if e.kind == "mul":
            return any(zero)
        if len(zero) > 1:
            return e.kind in UNION_KINDS and all(zero)
        return zero[0] and self._zero_preserving(e)

    @staticmethod
    def _aligned(parts: list[_Iter]) -> bool:
        """Participants already aligned token for token: no joiner, no N placeholder."""
        return len({id(p.crd) for p in parts}) == 1 or all(p.clean for p in parts)

    def _view_iter(self, node: _Node, v: str) -> _Iter | None:
        view = node.view
        w = node.vmap.get(v)
        if w is None:
            return None
        inner = w == view.vars[-1]
        outer = frozenset() if inner else frozenset({node.key})
        return _Iter(view.crd[w], {id(node): view.val if inner else None}, view.full[w], view.clean[w],
                     view.may_empty[w], outer)

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
            raise LoweringError(f"{self.name}: '{e.kind}' at the stored entries of one operand "
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
        if kind == "intersect":
            may_empty = any(p.may_empty for p in parts) or sum(not p.full for p in parts) >= 2
        else:
            may_empty = all(p.may_empty for p in parts)
        refs = {k: r for p in parts for k, r in p.refs.items()}
        outer = frozenset().union(*(p.outer for p in parts))
        if self._aligned(parts):
            # already aligned token for token: one coordinate stream read by every participant,
            # or every participant covers the whole dimension
            crd = next((p.crd for p in parts if p.clean), parts[0].crd)
            return _Iter(crd, refs, full, all(p.clean for p in parts), may_empty, outer)
        if outer:  # a real joiner would filter a view's (or accumulator's) outer fibers
            raise _ViewJoin({k for k in outer if not (isinstance(k, tuple) and k[:1] == ("acc",))},
                            f"a {kind} at {v} would filter the outer fibers of a computed value")
        crds, payloads, owners = [], [], []
        for p in parts:
            for owner, ref in p.refs.items():
                crds.append(p.crd)
                payloads.append(ref)
                owners.append(owner)
        crd, outs = getattr(self.b, kind)(crds, payloads, v)
        if kind == "union":  # a participant lacking a coordinate gets an N placeholder
            for p in parts:
                if not p.full:
                    self.maybe_n.update(p.refs)
        return _Iter(crd, dict(zip(owners, outs, strict=True)), full, False, may_empty)

    def _lookup(self, leaf: _Node, v: str) -> _Iter:
        e: Leaf = leaf.expr
        dims, formats = self.low.layouts[e.tensor]
        level = self.cursor[id(leaf)]
        while dims is not None and level < len(dims) and e.vars[dims[level]] == UNIT:
            level += 1  # a dense size-1 level: the position is unchanged (p * 1 + 0)
        if dims is None or level >= len(dims) or e.vars[dims[level]] != v:
            raise LoweringError(f"{self.name}: {v} does not follow the storage order of input {e.tensor}")
        fmt = formats[level]
        crd, ref = self.b.fiber_lookup(self.low.args[e.tensor], self.ref[id(leaf)], level, fmt, v)
        self.cursor[id(leaf)] = level + 1
        dense = fmt == "dense"
        return _Iter(crd, {id(leaf): ref}, dense, dense and id(leaf) not in self.maybe_n)

    # -- values ----------------------------------------------------------------------------
    def _value(self, node: _Node) -> ir.Value:
        e = node.expr
        if node.view is not None or id(node) in self.val:
            return self.val[id(node)]
        block = self.low.region.block
        if isinstance(e, Leaf):
            tile = (block, block) if block else ()
            return self.b.array(self.low.args[e.tensor], self.ref[id(node)], tile=tile)
        if isinstance(e, Map) and e.kind == "sample":
            return self._value(node.children[0])  # the right side only restricts the iteration
        if isinstance(e, Map):
            ins = [self._value(c) for c in node.children]
            if block:
                ins = [self.b.alu("transpose", x) if self.low.region.tiling.transposed(e, k) else x
                       for k, x in enumerate(ins)]
            product = self.low.region.tiling.product(e) if block else None
            if product is not None:  # a contraction of tiles: their product, summed across blocks
                kind, swapped = product
                return self.b.alu(kind, *(ins[::-1] if swapped else ins))
            return self.b.alu(e.kind, *ins, scalar=e.scalar)
        return self.val[id(node)]

    # -- outputs ---------------------------------------------------------------------------
    def _write(self, out: Output) -> ir.Value:
        top = id(self.tree)
        ovars = self.ctx[top]
        val = self._value(self.tree)
        if self.low.region.block and self.low.region.outputs.index(out) in self.low.region.tiling.out_transposes:
            val = self.b.alu("transpose", val)
        crds = {v: self.crd[(top, v)] for v in ovars}
        formats = {v: "dense" if self.full[(top, v)] else "compressed" for v in ovars}
        may_empty = {v: self.may_empty[(top, v)] for v in ovars}
        # a compressed level must not keep a coordinate whose fiber below came out empty (an
        # intersection or accumulator under it): crd_drop, innermost pair first
        for outer, inner in reversed(list(itertools.pairwise(ovars))):
            if formats[outer] == "compressed" and may_empty[inner]:
                crds[outer], crds[inner] = self.b.crd_drop(crds[outer], crds[inner])
                may_empty[outer] = True
        from fuseflow.dialects.sam import val_elem_type

        # casts (extf/truncf) are read through: the graph writes the values' element type and
        # the program casts the result
        dims = [_kept(out.vars).index(v) for v in ovars]
        if self.low.region.block:
            batch = tuple(d for d, v in enumerate(out.vars) if v in self.low.region.tiling.batch)
            rtype = tiled_output_type(out.value.type, self.low.region.block, dims, [formats[v] for v in ovars],
                                      val_elem_type(val.type), batch)
        else:
            rtype = output_type(unit_free_type(out.value.type, out.vars), dims, [formats[v] for v in ovars],
                                val_elem_type(val.type))
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
