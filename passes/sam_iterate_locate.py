"""sam-iterate-locate: iterate the sparse side of an intersection and locate into the dense side.

Intersecting a compressed level with a dense level scans the whole dense fiber only to discard
the coordinates the compressed side lacks. ``sam.locate`` iterates the compressed side and
computes the dense level's ref directly (``parent * dim + crd``) from the dense level's parent
ref, the ``in_ref`` of its ``fiber_lookup``::

    %x:2 = "sam.fiber_lookup"(%X, %xroot) {format = "dense", index = "j", level = 0 : i64}
    %j:3 = "sam.intersect"(%a#0, %x#0, %a#1, %x#1) {index = "j", ...}
    ==>
    %j:3 = "sam.locate"(%X, %a#0, %a#1, %xroot) {format = "dense", index = "j", level = 0 : i64}
    // %j#0: %a#1 passed through, %j#1: the located ref of X, %j#2: the coordinates of %a#0

Exactness (token for token, SAM_SEMANTICS.md sections 1-2): for a data coordinate ``c`` of the
iterated side under a data parent ``p``, the intersect emits ``c`` exactly when ``c < dim`` with
the dense ref ``p * dim + c``, which is what locate emits; stops must agree at an intersect and
locate passes the iterated side's stops. ``N`` tokens break the correspondence (the intersect
skips an ``N`` coordinate that locate passes on, and a dense scan of an ``N`` parent is one
``N`` that the intersect skips while locate emits the iterated coordinates), so both the
iterated crd and the parent ref must be free of ``N``, and every coordinate of the iterated side
must be below ``dim``. With more inputs the same holds for the intersection of the iterated
ones: locating a full dense level only filters coordinates at or above ``dim``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fuseflow.bindings import ir
from fuseflow.dialects import sam
from fuseflow.dialects.sam_builder import SamBuilder
from fuseflow.passes.pass_base import ModulePass
from fuseflow.passes.registry import register
from fuseflow.passes.sam_dedup_streams import (
    EmptyTokens,
    build_joiner,
    check_graph,
    dedup_joiner,
    graph_functions,
    joiner_pairs,
    producer,
    result_number,
)


def crd_bound(value: ir.Value) -> int | None:
    """An exclusive upper bound on the data coordinates of crd stream ``value`` (None if unknown),
    from its op's ``crd_bound`` fact (dialects/sam.py): a scanner's level size, carried through
    locate, forks, joins, coordinate filters and spacc; the smallest known bound of an
    intersect's inputs; the largest of a union's (all known)."""
    op = producer(value)
    if op is None or not isinstance(op.opview, sam.SamOp):
        return None
    return op.opview.crd_bound(result_number(value), crd_bound)


def _dense_scanner(crd: ir.Value, payload: ir.Value, joiner: ir.Operation) -> ir.Operation | None:
    """The dense ``fiber_lookup`` producing both ``crd`` and ``payload``, when its two results
    are used by ``joiner`` once each and nowhere else."""
    op = producer(crd)
    if op is None or op.name != "sam.fiber_lookup" or ir.StringAttr(op.attributes["format"]).value != "dense":
        return None
    if crd != op.results[0] or payload != op.results[1]:
        return None
    for result in op.results:
        uses = list(result.uses)
        if len(uses) != 1 or uses[0].owner.operation != joiner:
            return None
    return op


def _scanned_size(scanner: ir.Operation) -> int | None:
    return sam.level_size(scanner.operands[0].type, ir.IntegerAttr(scanner.attributes["level"]).value)


@dataclass(frozen=True)
class LocatePlan:
    """How an intersect becomes locates: its inputs at ``iterated`` stay co-iterated (in a
    smaller intersect when there are several), each input at ``located`` is looked up in the
    dense level its scanner (same position in ``scanners``) reads."""

    iterated: tuple[int, ...]
    located: tuple[int, ...]
    scanners: tuple[ir.Operation, ...]


def locate_plan(op: ir.Operation, empty: EmptyTokens) -> LocatePlan | None:
    """The plan for intersect ``op``, or None when no exact rewrite exists."""
    if op.name != "sam.intersect":
        return None
    crds, payloads, _ = joiner_pairs(op)
    iterated, located, scanners = [], [], []
    for i, (c, p) in enumerate(zip(crds, payloads, strict=True)):
        scanner = _dense_scanner(c, p, op)
        if scanner is not None and _scanned_size(scanner) is not None and not empty.may_carry(scanner.operands[1]):
            located.append(i)
            scanners.append(scanner)
        else:
            iterated.append(i)
    if not located or not iterated:
        return None  # nothing to locate, or only dense scans (nothing to skip: each covers its level)
    if len(iterated) == 1:
        crd = crds[iterated[0]]
        if empty.may_carry(crd):  # the intersect would skip its N coordinates; locate would not
            return None
        bound = crd_bound(crd)
    else:  # a smaller intersect: its crd result carries no N and is bounded by each input
        known = [b for b in (crd_bound(crds[i]) for i in iterated) if b is not None]
        bound = min(known) if known else None
    if bound is None or any(bound > _scanned_size(s) for s in scanners):
        return None
    return LocatePlan(tuple(iterated), tuple(located), tuple(scanners))


def rewrite(op: ir.Operation, plan: LocatePlan) -> None:
    """Replace intersect ``op`` by ``plan``: the iterated inputs (intersected when several), then
    one locate per located input, chained through the first iterated payload."""
    crds, payloads, outs = joiner_pairs(op)
    index = ir.StringAttr(op.attributes["index"]).value
    it = plan.iterated
    reduced = None
    if len(it) == 1:
        crd, kept = crds[it[0]], [payloads[it[0]]]
    else:
        crd, kept = build_joiner(op, [crds[i] for i in it], [payloads[i] for i in it])
        reduced = producer(crd)
    b = SamBuilder(ir.InsertionPoint(op), op.location)
    passed = kept[0]
    for pos, scanner in zip(plan.located, plan.scanners, strict=True):
        tensor, parent = scanner.operands[0], scanner.operands[1]
        level = ir.IntegerAttr(scanner.attributes["level"]).value
        passed, located, crd = b.locate(tensor, crd, passed, parent, level, index)
        outs[pos].replace_all_uses_with(located)
    op.results[0].replace_all_uses_with(crd)
    outs[it[0]].replace_all_uses_with(passed)
    for pos, value in zip(it[1:], kept[1:], strict=True):
        outs[pos].replace_all_uses_with(value)
    op.erase()
    for scanner in plan.scanners:
        scanner.erase()
    if reduced is not None:  # e.g. the lowering's intersect(u, u, x) leaves intersect(u, u)
        dedup_joiner(reduced, EmptyTokens())


@register
class SamIterateLocatePass(ModulePass):
    """Replace intersections of a sparse stream with a dense level scan by `sam.locate`.

    An input of a `sam.intersect` whose crd and payload are the two results of a dense
    `sam.fiber_lookup` used nowhere else is *located* rather than co-iterated: the intersect's
    other inputs are iterated (directly when there is one, else through a smaller intersect of
    them), and `sam.locate` of that tensor and level computes the dense ref from the scanner's
    input ref (the located level's parent ref). The first iterated payload passes through the
    locates (one per located input, chained); the scanners are erased. A smaller intersect whose
    crd operands are all one stream is then removed as in `sam-dedup-streams` (the lowering's
    `intersect(u, u, x)` becomes `locate(x)` over `u`):

        %x:2 = "sam.fiber_lookup"(%X, %p) {format = "dense", index = "j", level = 0 : i64}
        %j:3 = "sam.intersect"(%a#0, %x#0, %a#1, %x#1) {index = "j", ...}
        ==> %j:3 = "sam.locate"(%X, %a#0, %a#1, %p) {format = "dense", index = "j", level = 0 : i64}

    Rewritten only when exact token for token: the iterated coordinates have a known bound (a
    scanner's level size, through joiners and filters) no larger than each located level; the
    located scanners' parent refs cannot carry `N` tokens, nor can a single iterated crd stream
    (an intersect skips `N` coordinates, a locate passes them on). Left alone: unions, intersects
    of dense scans only, block-sparse or dynamically sized levels, scanners with other users.

    Preconditions: each graph passes `check_loop_nests` (else the pass fails naming the
    problem); functions without sam ops are not touched.
    Guarantees after: a second run changes nothing; every graph verifies and passes
    `check_loop_nests`; outputs are unchanged. Optional: the lowering does not rely on it.
    Options: none.
    """

    name = "sam-iterate-locate"

    def run(self, module: ir.Operation) -> None:
        for fn in graph_functions(module):
            self._run_on(fn)

    @staticmethod
    def _run_on(fn: ir.Operation) -> None:
        check_graph(fn, "input")
        block = fn.regions[0].blocks[0]
        for op in [o.operation for o in block.operations if o.operation.name == "sam.intersect"]:
            plan = locate_plan(op, EmptyTokens())
            if plan is not None:
                rewrite(op, plan)
        check_graph(fn, "rewritten")
