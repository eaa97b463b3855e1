"""sam-dedup-streams: drop duplicate joiner inputs, self-joins and duplicate ops in SAM graphs.

A joiner (``sam.intersect`` / ``sam.union``) co-iterates (crd, payload) input pairs. Two facts of
the token semantics (SAM_SEMANTICS.md sections 1-2, ``fuseflow.sim.functional._join``) make some
inputs redundant:

* Identical input pairs advance in lockstep (same heads at the same positions, hence the same
  decisions), so a pair listed twice never changes what the joiner emits and its two payload
  results are token-for-token equal: one copy suffices, its result feeds both users::

      %j:4 = "sam.intersect"(%a, %b, %a, %ra, %rb, %ra) ...   // pair (%a, %ra) twice
      ==>  %j:3 = "sam.intersect"(%a, %b, %ra, %rb) ...       // users of %j#3 read %j#1

* A joiner whose crd operands are all one SSA value co-iterates a stream with itself: every
  head is equal, so intersect(c, ..., c) and union(c, ..., c) emit ``c`` (same coordinates, same
  stops) and pass every payload through unchanged, provided ``c`` carries no ``N`` token (a
  joiner skips ``N`` coordinates, so on such a stream the result is ``c`` minus its ``N``
  tokens). The joiner is then removed and its users read ``c`` and the payloads directly.

A joiner where only *some* crd operands are the same value (the lowering's nested joiners pass
several payloads of one co-iteration that way, e.g. ``"sam.union"(%3#0, %3#0, %4#0, %3#1,
%3#2, %4#1)``) keeps them: the dialect pairs exactly one payload with each crd operand, so two
payloads of one crd stream cannot share one input slot, and dropping either would lose a payload.

Identical ops (same name, operands, attributes) are left to upstream ``cse``, which already merges
the ``Pure`` sam ops; the pass runs it on each graph, alternating with the joiner rewrites.
"""

from __future__ import annotations

from fuseflow.bindings import PassManager, ir, op_name
from fuseflow.dialects import sam
from fuseflow.dialects.sam_builder import SamBuilder
from fuseflow.dialects.sam_graph import SamGraph, check_loop_nests
from fuseflow.passes.pass_base import ModulePass, Option, PassFailure
from fuseflow.passes.registry import register

JOINERS = ("sam.intersect", "sam.union")


def graph_functions(module: ir.Operation) -> list[ir.Operation]:
    """The ``func.func`` ops of ``module`` whose body holds sam ops (the SAM graphs)."""
    found = []
    for op in module.regions[0].blocks[0].operations:
        op = op.operation
        if op_name(op) != "func.func" or not op.regions[0].blocks:
            continue
        if any(o.operation.name.startswith("sam.") for o in op.regions[0].blocks[0].operations):
            found.append(op)
    return found


def producer(value: ir.Value) -> ir.Operation | None:
    """The op defining ``value`` (None for a block argument)."""
    owner = value.owner
    return None if isinstance(owner, ir.Block) else owner.operation


def result_number(value: ir.Value) -> int:
    return ir.OpResult(value).result_number


def check_graph(fn: ir.Operation, when: str) -> None:
    """Raise ``PassFailure`` when graph function ``fn`` fails ``check_loop_nests``; ``when`` says
    whether this is the input (a precondition) or the rewritten graph."""
    problems = check_loop_nests(SamGraph(fn))
    if problems:
        raise PassFailure(f"the {when} graph is mis-wired: {'; '.join(problems)}", fn.location)


def joiner_pairs(op: ir.Operation) -> tuple[list[ir.Value], list[ir.Value], list[ir.Value]]:
    """(crds, payloads, payload results) of a joiner, paired by position (refs before vals)."""
    view = op.opview
    return list(view.crds), view.payloads, view.out_payloads


def build_joiner(op: ir.Operation, crds: list[ir.Value], payloads: list[ir.Value]) -> tuple[ir.Value, list[ir.Value]]:
    """A joiner of ``op``'s kind and index over new inputs, inserted before ``op``; returns
    (crd result, payload results in the order of ``payloads``)."""
    index = ir.StringAttr(op.attributes["index"]).value
    b = SamBuilder(ir.InsertionPoint(op), op.location)
    make = b.intersect if op.name == "sam.intersect" else b.union
    return make(crds, payloads, index)


class EmptyTokens:
    """Which crd/ref streams may carry ``N`` (empty) tokens; conservative (True when unsure).

    ``N`` enters a graph only at a union's payload results (an input lacking the coordinate) and
    at a locate whose operands carry it; scanners, repeats, forks and joins propagate it from
    their input; joiners never emit it on their crd result (they skip ``N`` coordinates). Each
    op says so in its ``may_carry_empty`` (dialects/sam.py)::

        %u:3 = "sam.union"(%a, %b, %ra, %rb) ...                  // %u#1, %u#2 may be N
        %c:2 = "sam.fiber_lookup"(%B, %u#2) ...                   // N in, N out: %c#0 may be N
    """

    def __init__(self):
        self._memo: dict[ir.Value, bool] = {}

    def may_carry(self, value: ir.Value) -> bool:
        if value not in self._memo:
            self._memo[value] = self._compute(value)
        return self._memo[value]

    def _compute(self, value: ir.Value) -> bool:
        op = producer(value)
        if op is None or not isinstance(op.opview, sam.SamOp):
            return True
        return op.opview.may_carry_empty(result_number(value), self.may_carry)


def _replace(old: ir.Value, new: ir.Value) -> None:
    if old != new:
        old.replace_all_uses_with(new)


def dedup_joiner(op: ir.Operation, empty: EmptyTokens) -> bool:
    """Remove ``op`` when all its crd operands are one N-free stream, else drop repeated
    (crd, payload) pairs. True when the graph changed (``op`` is then erased)."""
    crds, payloads, outs = joiner_pairs(op)
    if all(c == crds[0] for c in crds) and not empty.may_carry(crds[0]):
        _replace(op.results[0], crds[0])
        for p, o in zip(payloads, outs, strict=True):
            _replace(o, p)
        op.erase()
        return True
    first: dict[tuple[ir.Value, ir.Value], int] = {}
    rep = []  # rep[i] = position among the kept pairs of the first copy of pair i
    for pair in zip(crds, payloads, strict=True):
        rep.append(first.setdefault(pair, len(first)))
    kept = list(first)
    if len(kept) < 2:  # a joiner needs two inputs: keep two copies of the single pair
        kept = kept * 2
    if len(kept) == len(crds):
        return False
    crd, new_outs = build_joiner(op, [c for c, _ in kept], [p for _, p in kept])
    _replace(op.results[0], crd)
    for i, o in enumerate(outs):
        _replace(o, new_outs[rep[i]])
    op.erase()
    return True


@register
class SamDedupStreamsPass(ModulePass):
    """Shrink SAM graphs: drop duplicate joiner inputs, self-joins and identical ops.

    Rewrites, each exact token for token (SAM_SEMANTICS.md sections 1-2):
    (a) a joiner input pair (crd, payload) listed more than once is kept once; every copy's
    payload result is replaced by the kept one's (identical inputs move in lockstep);
    (b) an intersect or union whose crd operands are all one SSA value `c` is removed: its crd
    result becomes `c` and each payload result the payload operand. Done only when `c` cannot
    carry `N` tokens (a joiner drops them, so the result would differ from `c`);
    (c) ops with the same name, operands, attributes and result types are merged by upstream
    `cse` (every sam op but the writers and `sam.output` is `Pure`, and upstream `cse` merges
    those; this pass runs it on each graph function rather than reimplementing it).
    The three repeat until nothing changes: merging ops can make joiner pairs identical and vice
    versa. Joiners where only some crd operands coincide keep them (one payload per crd operand:
    two payloads of one crd stream need two input slots).

    Preconditions: each graph passes `check_loop_nests` (else the pass fails naming the
    problem); functions without sam ops are not touched.
    Guarantees after: no joiner has a repeated (crd, payload) pair (a joiner with a single pair
    repeated whose crd may carry `N` keeps two copies); no joiner has all crd operands equal
    unless that stream may carry `N`; with `cse`, no two identical Pure ops in a graph. Every
    graph still verifies and passes `check_loop_nests`. Optional: the lowering does not rely on it.
    Options: `cse` (bool, default true) - also merge identical ops with upstream `cse`.
    """

    name = "sam-dedup-streams"
    cse = Option(bool, True, "also merge identical ops (upstream cse on each graph function)")

    def run(self, module: ir.Operation) -> None:
        for fn in graph_functions(module):
            self._run_on(fn)

    def _run_on(self, fn: ir.Operation) -> None:
        check_graph(fn, "input")
        changed = True
        while changed:  # each step can expose work for the other; stop when neither changes
            changed = self._dedup_joiners(fn)
            if self.cse:
                before = _op_count(fn)
                PassManager.parse("func.func(cse)").run(fn)
                changed = changed or _op_count(fn) != before
        check_graph(fn, "rewritten")

    @staticmethod
    def _dedup_joiners(fn: ir.Operation) -> bool:
        empty = EmptyTokens()
        changed = False
        block = fn.regions[0].blocks[0]
        for op in [o.operation for o in block.operations if o.operation.name in JOINERS]:
            if dedup_joiner(op, empty):
                changed = True
                empty = EmptyTokens()  # results were replaced: start the analysis afresh
        return changed


def _op_count(fn: ir.Operation) -> int:
    return len(list(fn.regions[0].blocks[0].operations))
