"""Which dataflow orders a region can be lowered in (SAM_SEMANTICS.md section 4, steps 2-3).

Storage precedences come from the inputs' level orders (``Region.precedences``); on top of them,
every reduction gets its scope in an order (``reduction_loops``): the variables of its context
that it depends on or is driven by, its variable, then its *trailing* variables (a sparse
accumulator's output levels, ``trailing_vars``). ``accumulator_problem`` says why a reduction
cannot be lowered in an order; ``topological_orders`` enumerates the orders with prefix pruning.
"""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass

from fuseflow.passes.lowering.expr import Expr, Map, Reduce, free_vars

MAX_ORDERS = 5040  # enumeration cap (7!): orders beyond it are not listed


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
class Acc:
    """A reduction as the order analysis sees it."""

    var: str
    kind: str
    free: frozenset[str]  # the variables its value depends on
    parent: int  # index of the enclosing reduction in preorder, -1 at the top
    root: bool  # only unary maps lie between it and the output writer


def accumulators(e: Expr, parent: int = -1, root: bool = True, out: list | None = None) -> list[Acc]:
    """The reductions of ``e`` in preorder."""
    out = [] if out is None else out
    if isinstance(e, Map):
        for a in e.args:
            accumulators(a, parent, root and len(e.args) == 1, out)
    elif isinstance(e, Reduce):
        out.append(Acc(e.var, e.kind, frozenset(free_vars(e)), parent, root))
        accumulators(e.arg, len(out) - 1, False, out)
    return out


def accumulator_problem(a: Acc, ctx: list[str], pos: dict[str, float], after: list[str]) -> list[str]:
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


def has_cycle(items: list[str], pairs: set[tuple[str, str]]) -> bool:
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


def topological_orders(items: list[str], pairs: set[tuple[str, str]], feasible=None):
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
