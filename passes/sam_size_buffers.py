"""sam-size-buffers: the FIFO depth every fan-out edge of a SAM graph needs, recorded on the graph.

A node whose results feed two or more consumers (an SSA value read twice, or several results
of one node: a joiner's coordinates and payloads advance together) pushes each token into every
out-edge. When two of those paths meet again further down and one of them first collapses a
loop level (a ``reduce`` or ``spacc``) and re-expands it (a ``repeat``), the meeting node cannot
take the fast path's tokens of a fiber until the slow path has seen that whole fiber: the fast
edge must hold it, or the producer stalls and the graph deadlocks (SAM_SEMANTICS.md 4.11: the
softmax's scores wait in front of the subtraction until the row maximum is known)::

    %s = ... (i, j)                         // the scores, fanned out
    %m = "sam.reduce"(%s) {kind = "max"}    // (i): needs row i whole
    %r = "sam.repeat"(%m, %sig)             // (i, j)
    %d = "sam.alu"(%s, %r) {kind = "sub"}   // meets %s: the edge %s -> sub holds row i

For each out-edge ``a`` of a fan-out node, and each other out-edge ``b`` whose paths reach a node
that ``a``'s paths also reach (followed up to the first such node: past it the paths are one),
let ``L`` be the shallowest loop depth on ``b``'s paths (the *dip*). If ``L`` is shallower than
``a``'s stream, ``a`` holds fibers of its stream below level ``L``: the one the slow path
collapses, and one more per ``repeat`` on that path (a repeat closes its fiber only after seeing
the following input token, which the slow path makes from the next fiber). A fiber is at most
the product over the levels below ``L`` of (dimension + 1) tokens (data and stops, the
dimension bounding it); ``SLACK`` tokens are added for the pipeline. Writers never stall, so
paths end there.

A parallel ``join`` (``sam-parallelize``) takes its lanes' units in fork order: each lane's edge
holds two units (the fiber below the forked level, or one token at depth 0), so every lane works
on its next item while its last one waits for the join to reach it (with the hardware default
alone the lanes run in near lockstep with the join, far below their parallel speed).

A sparse accumulator flushes a whole output fiber while its inputs wait: each of its input
edges holds one output fiber, so producers keep running through the flush, and so does every
edge from its outputs to where the fiber is consumed slowly (a ``repeat`` or another
reduction), so it starts its next fiber while the last one drains (with the hardware default
alone, accumulation and consumption no longer overlap).

The depth is stored on the consumer as ``fuseflow.buffers`` (one entry per operand, 0 = the
hardware default); the simulator sizes those FIFOs from it (``HardwareConfig.fifo_depth`` stays
the floor) and reports the words they take.

Preconditions: every graph passes the loop-nest check. Guarantees after: the graphs are
unchanged but for the ``fuseflow.buffers`` attributes (recomputed from scratch each run).
Options: none.
"""

from __future__ import annotations

import math

from fuseflow.bindings import ir
from fuseflow.dialects.sam_graph import SamGraph, loop_aliases, loop_nests
from fuseflow.dialects.sam_types import level_size
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register
from fuseflow.passes.sam_dedup_streams import check_graph, graph_functions

BUFFERS_ATTR = "fuseflow.buffers"
SLACK = 4  # tokens in flight between a producer and a stalled consumer
_SLOW = ("sam.repeat", "sam.reduce", "sam.spacc")  # consumers that take a fiber slowly
_SINKS = ("sam.fiber_write", "sam.val_write", "sam.output", "func.return")


@register
class SamSizeBuffersPass(ModulePass):
    """Record on every SAM graph the FIFO depth each fan-out edge needs to never deadlock.

    For every node whose out-edges reconverge after one path collapsed a loop level (a
    reduction whose result is repeated back), the faster edge must hold one fiber of its
    stream; its depth, bounded by the dimensions, goes on the consumer as
    `fuseflow.buffers = array<i64: ...>` (per operand, 0 = the hardware default FIFO). The
    simulator sizes those FIFOs from it and reports the region's buffer words.
    Preconditions: the graphs pass the loop-nest check. Guarantees after: only the
    `fuseflow.buffers` attributes change. Options: none.
    """

    name = "sam-size-buffers"

    def run(self, module: ir.Operation) -> None:
        for fn in graph_functions(module):
            check_graph(fn, "input")
            size_buffers(fn)


def size_buffers(fn: ir.Operation) -> dict[tuple[int, int], int]:
    """Compute and attach the depths of graph function ``fn``; returns them keyed by (consumer
    op index, operand number)."""
    g = SamGraph(fn)
    nests = loop_nests(g)
    sizes = _var_sizes(g, loop_aliases(g.func))
    n_args = len(g.args)
    out_edges: dict[int, list] = {}
    for e in g.edges:
        if e.src >= n_args and e.kind != "tensor":
            out_edges.setdefault(e.src, []).append(e)
    order = g.topological_order()
    rank = {n: k for k, n in enumerate(order)}
    succ: dict[int, list] = {}
    for e in g.edges:
        succ.setdefault(e.src, []).append(e)
    depths: dict[tuple[int, int], int] = {}
    for edges in out_edges.values():
        if len(edges) < 2:
            continue
        reach = [_reachable(e, succ, g) for e in edges]
        for a, ra in zip(edges, reach, strict=True):
            nest = nests.get((a.src, a.src_result)) or ()
            need = 0
            for b in edges:
                if b is a:
                    continue
                for x, (dip, repeats) in _dips(g, b, nests, succ, rank, ra).items():
                    if x in ra and dip < len(nest):
                        # the fiber itself, and one more per repeat on the way: a repeat ends
                        # its fiber only once it has seen the following input token (the stop
                        # rule), which the slow path makes from the next fiber
                        need = max(need, (1 + repeats) * _fiber_tokens(nest, dip, sizes))
            if need:
                key = (a.dst - n_args, a.dst_operand)
                depths[key] = max(depths.get(key, 0), need + SLACK)
    for k, op in enumerate(g.ops):
        if op.name != "sam.spacc":
            continue
        # a sparse accumulator flushes a whole output fiber (a cycle per entry) while its inputs
        # wait: they hold what their producers make meanwhile, so the flush overlaps with them
        order = ir.IntegerAttr(op.attributes["order"]).value
        out_nest = nests.get((n_args + k, order)) or ()
        burst = _fiber_tokens(out_nest, len(out_nest) - order, sizes) + SLACK
        for n in range(len(op.operands)):
            depths[(k, n)] = max(depths.get((k, n), 0), burst)
        # ... and its flushed fiber flows on to where it is consumed slowly (a repeat, which
        # takes one value per fiber it makes, or another reduction): the edges on the way hold
        # it, so the accumulator can start on its next fiber while the last one drains
        stack, seen = [n_args + k], set()
        while stack:
            node = stack.pop()
            for e in succ.get(node, []):
                if _is_sink(g, e.dst):
                    continue
                key = (e.dst - n_args, e.dst_operand)
                depths[key] = max(depths.get(key, 0), burst)
                if e.dst not in seen and g.ops[e.dst - n_args].name not in _SLOW:
                    seen.add(e.dst)
                    stack.append(e.dst)
    for k, op in enumerate(g.ops):
        if op.name != "sam.join":
            continue
        # a join takes its lanes' units (one per forked token) in fork order: while it drains
        # one lane, the others run ahead only as far as their edges hold; two units each keep
        # every lane computing its next item while its last one waits for its turn
        depth = ir.IntegerAttr(op.attributes["depth"]).value
        lane0 = next(e for e in g.edges if e.dst == n_args + k and e.dst_operand == 0)
        nest = nests.get((lane0.src, lane0.src_result)) or ()
        unit = 2 * _fiber_tokens(nest, len(nest) - depth, sizes) + SLACK
        for n in range(len(op.operands)):
            depths[(k, n)] = max(depths.get((k, n), 0), unit)
    _attach(g, depths)
    return depths


def _dips(g: SamGraph, edge, nests, succ, rank, meet: set[int]) -> dict[int, tuple[int, int]]:
    """The nodes reachable through ``edge`` up to where they meet the other paths (``meet``:
    not looked past, beyond them the two paths are one), each with the shallowest loop depth of
    the streams on the way and the most ``repeat``s on one such path."""
    n_args = len(g.args)
    start = edge.dst
    if _is_sink(g, start):
        return {}
    first = len(nests.get((edge.src, edge.src_result)) or ())
    dip = {start: first}
    reps = {start: int(g.ops[start - n_args].name == "sam.repeat")}
    for node in sorted(_reachable(edge, succ, g, meet), key=rank.__getitem__):
        if node in meet:
            continue
        d, r = dip[node], reps[node]
        for e in succ.get(node, []):
            if _is_sink(g, e.dst):
                continue
            nest = nests.get((e.src, e.src_result))
            dip[e.dst] = min(dip.get(e.dst, math.inf), len(nest) if nest is not None else d, d)
            reps[e.dst] = max(reps.get(e.dst, 0), r + int(g.ops[e.dst - n_args].name == "sam.repeat"))
    return {x: (dip[x], reps[x]) for x in dip}


def _reachable(edge, succ, g: SamGraph, stop: set[int] = frozenset()) -> set[int]:
    """The nodes reachable through ``edge`` (writers excluded), not looking past ``stop``."""
    if _is_sink(g, edge.dst):
        return set()
    seen, stack = {edge.dst}, [edge.dst]
    while stack:
        n = stack.pop()
        if n in stop:
            continue
        for e in succ.get(n, []):
            if e.dst in seen or _is_sink(g, e.dst):
                continue
            seen.add(e.dst)
            stack.append(e.dst)
    return seen


def _is_sink(g: SamGraph, node: int) -> bool:
    return node < len(g.args) or g.ops[node - len(g.args)].name in _SINKS


def _fiber_tokens(nest: tuple[str, ...], level: int, sizes: dict[str, int]) -> int:
    """Tokens (data and stops) of one fiber of a stream in ``nest`` below loop depth ``level``."""
    return math.prod(sizes.get(v, 1) + 1 for v in nest[level:])


def _var_sizes(g: SamGraph, alias: dict[str, str]) -> dict[str, int]:
    """The dimension each index variable iterates, from the fiber lookups and locates."""
    sizes: dict[str, int] = {}
    for op in g.ops:
        if op.name not in ("sam.fiber_lookup", "sam.locate"):
            continue
        n = level_size(op.operands[0].type, ir.IntegerAttr(op.attributes["level"]).value)
        if n is None:
            continue
        index = ir.StringAttr(op.attributes["index"]).value
        for name in (index, alias.get(index, index)):
            sizes[name] = max(sizes.get(name, 0), n)
    for name, rep in alias.items():  # every alias of a loop iterates the same dimension
        sizes[name] = sizes[rep] = max(sizes.get(name, 0), sizes.get(rep, 0))
    return sizes


def _attach(g: SamGraph, depths: dict[tuple[int, int], int]) -> None:
    for k, op in enumerate(g.ops):
        if BUFFERS_ATTR in op.attributes:
            del op.attributes[BUFFERS_ATTR]
        mine = [depths.get((k, n), 0) for n in range(len(op.operands))]
        if any(mine):
            op.attributes[BUFFERS_ATTR] = ir.DenseI64ArrayAttr.get(mine)
