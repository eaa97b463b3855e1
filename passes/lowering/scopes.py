"""Scopes: which loops each node of a fused einsum iterates in an order (SAM_SEMANTICS.md 4.4-4.10).

Every node iterates its own variables in dataflow order. A consumer loop it does not index that
comes before one it does *drives* it (``driven``): its fibers restart per iteration of that
loop, a real recomputation (4.10). Nodes whose streams are the same wherever they are read have
equal ``scope_key``s; ``plan_views`` picks the nodes read at the same points by two or more
consumers, which the emitter builds once and fans out. ``order_work`` counts the work of an
order on dense bounds by the same rule (the default order's tie-breaker, and the compile-time
order choice without example inputs).
"""

from __future__ import annotations

import math
from collections import Counter

from fuseflow.bindings import ir
from fuseflow.passes.lowering.expr import UNIT, Expr, Leaf, Map, Reduce, all_vars, free_vars, leaves
from fuseflow.passes.lowering.orders import reduction_loops


def driven(e: Expr, nest: list[str], pos: dict[str, int]) -> bool:
    """A loop of ``nest`` that ``e`` does not index comes before one that it does: ``e``'s
    fibers restart per iteration of that loop (it is rebuilt there, SAM_SEMANTICS.md 4.10)."""
    free = free_vars(e)
    if not free:
        return False
    last = max(pos[v] for v in free)
    return any(u not in free and pos[u] < last for u in nest)


def scope_key(e: Expr, pos: dict[str, int]):
    """What ``e``'s streams depend on: its structure with every variable named by its place
    among the variables in scope (so ``xc[i,j]`` and ``xc[i,k]`` are one node when ``j`` and ``k``
    sit alike), hashable. Equal keys build identical streams."""
    mine = tuple(sorted(all_vars(e), key=pos.__getitem__))  # the key depends on their order only
    got = _KEYS.get((e, mine))
    if got is None:
        if len(_KEYS) > 1 << 18:
            _KEYS.clear()
        free = sorted(free_vars(e), key=pos.__getitem__)
        got = _KEYS[(e, mine)] = _key(e, {v: n for n, v in enumerate(free)}, pos)
    return got


_KEYS: dict = {}  # (expression, its variables in order) -> scope key


def _key(e: Expr, env: dict, pos: dict[str, int]):
    if isinstance(e, Leaf):
        return ("L", e.tensor, tuple(UNIT if v == UNIT else env[v] for v in e.vars))
    if isinstance(e, Map):
        return ("M", e.kind, e.scalar, e.stored, tuple(_key(a, env, pos) for a in e.args))
    # the reduction's operand iterates the variables in scope it depends on or is driven by
    # (``reduction_loops``): only their order around its variable shapes its streams
    free = free_vars(e)
    last = max((pos[w] for w in free), default=-1)
    loops = {v: label for v, label in env.items() if v in free or (pos[v] < pos[e.var] and pos[v] < last)}
    place = sum(1 for v in loops if pos[v] < pos[e.var])
    inner = dict(loops)
    inner[e.var] = ("r", place)
    return ("R", e.kind, e.stored, place, _key(e.arg, inner, pos))


def plan_views(region, order: list[str]) -> set:
    """The scope keys of nodes read at the same points by two or more consumers (not counting
    consumers that drive them): candidates to build once and fan out."""
    pos = {v: n for n, v in enumerate(order)}
    counts: Counter = Counter()

    def visit(e: Expr, nest: list[str]) -> None:
        if isinstance(e, Leaf):
            return
        if not driven(e, nest, pos):
            key = scope_key(e, pos)
            counts[key] += 1
            if counts[key] > 1:
                return  # a view: its subtree is built once
        if isinstance(e, Reduce):
            visit(e.arg, reduction_loops(e.var, free_vars(e), nest, pos)[0])
        else:
            for a in e.args:
                visit(a, nest)

    for out in region.outputs:
        visit(out.expr, sorted((v for v in out.vars if v != UNIT), key=pos.__getitem__))
    return {k for k, c in counts.items() if c > 1}


def order_work(region, order: list[str]) -> float:
    """The work of ``region`` lowered in ``order`` on dense bounds (every dimension full): ALU
    operations, reduction combines and value loads, each counted once per point of the loops it
    runs in (its context's loops up to its own innermost variable; a view once). Follows the
    lowering's rule, so recomputation (SAM_SEMANTICS.md 4.10) is what makes orders differ."""
    pos = {v: n for n, v in enumerate(order)}
    sizes = _var_sizes(region)

    def points(nest: list[str], own) -> float:
        last = max((pos[u] for u in own if u != UNIT), default=-1)
        return math.prod(sizes[u] for u in nest if pos[u] <= last)

    total = 0.0
    for kind, e, nest in scoped_nodes(region, order):
        if kind == "reduce":
            total += points(nest, nest)
        elif kind == "node" and isinstance(e, Leaf):
            total += points(nest, e.vars)
        elif kind == "node" and e.kind != "sample":
            total += points(nest, free_vars(e))
    return total


def scoped_nodes(region, order: list[str]):
    """Every node the lowering builds for ``region`` in ``order`` with the loops it runs in, in
    a fixed traversal, as ``(kind, expression, nest)``: ``"output"`` (an output's nest),
    ``"view"`` (a shared node, once, in its own loops), ``"reduce"`` (a reduction's operand loops,
    ``reduction_loops``) and ``"node"`` (a leaf or ALU node in its context's loops)."""
    pos = {v: n for n, v in enumerate(order)}
    shared = plan_views(region, order)
    seen: set = set()

    def visit(e: Expr, nest: list[str]):
        if not isinstance(e, Leaf) and not driven(e, nest, pos):
            key = scope_key(e, pos)
            if key in shared:
                if key in seen:
                    return
                seen.add(key)
                nest = sorted(free_vars(e), key=pos.__getitem__)
                yield "view", e, nest
        if isinstance(e, Reduce):
            loops = reduction_loops(e.var, free_vars(e), nest, pos)[0]
            yield "reduce", e, loops
            yield from visit(e.arg, loops)
            return
        yield "node", e, nest
        for a in getattr(e, "args", ()):
            yield from visit(a, nest)

    for out in region.outputs:
        nest = sorted((v for v in out.vars if v != UNIT), key=pos.__getitem__)
        yield "output", out.expr, nest
        yield from visit(out.expr, nest)


def _var_sizes(region) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for out in region.outputs:
        for leaf in leaves(out.expr):
            shape = ir.RankedTensorType(region.inputs[leaf.tensor].type).shape
            for v, n in zip(leaf.vars, shape, strict=True):
                if v != UNIT:
                    sizes[v] = max(sizes.get(v, 1), n)
    return sizes


def order_signature(region, order: list[str]) -> tuple:
    """What the graph of ``region`` in ``order`` depends on: the loop nest of every context the
    lowering builds (outputs, views, reduction operands, ``scoped_nodes``). Orders that only
    reorder variables that never share a scope have equal signatures and build the same graph."""
    nests = tuple((kind, tuple(nest)) for kind, _, nest in scoped_nodes(region, order) if kind != "node")
    # free inputs are laid out in the order their reads need
    layouts = tuple(sorted((n, tuple(sorted(d))) for n, d in region._free_layouts(order).items()))
    return nests, layouts
