"""Fusion regions as fused einsums (SAM_SEMANTICS.md section 4, steps 1-3).

``build_region`` reads a region's ops (``linalg_reader``), inlines each producer into its
consumers with its result dimensions unified with their operand dimensions (union-find: the
connected components are the region's index variables, named i, j, k, ... in order of first
appearance), and names every reduction's variable after its structure, so the copies of one
producer read by several consumers become one node again (``_share_bound``). ``Region`` holds the
inputs, the outputs' expressions and the variables, and answers for an order: its storage
precedences, whether it is legal (``order_problems``, ``legal_orders``, ``choose_order``,
``best_order``), how free inputs (reshape or slice results, constants) are laid out and what
type the graph reads each input as (``graph_type``: a sparse input without its unit dimensions,
``drop_unit_levels``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from fuseflow.bindings import ir, op_name
from fuseflow.dialects.sam_types import block_layout
from fuseflow.errors import FuseflowError, InfeasibleOrder, LoweringError, UnsupportedOp
from fuseflow.passes.ir_utils import encoding, value_name
from fuseflow.passes.lowering.blocking import Tiling, region_block, tiled_type, tiling
from fuseflow.passes.lowering.expr import (
    UNIT,
    Expr,
    Leaf,
    Map,
    Reduce,
    _vars_in_order,
    all_vars,
    intern,
    leaves,
    rename,
)
from fuseflow.passes.lowering.linalg_reader import OpTree, is_unit_reshape, read_generic
from fuseflow.passes.lowering.orders import (
    MAX_ORDERS,
    accumulator_problem,
    accumulators,
    has_cycle,
    reduction_loops,
    topological_orders,
)

VAR_NAMES = "ijklmnopqrstuvwxyzabcdefgh"
_ORDERS: dict = {}  # Region._shape() -> (legal orders, signatures, a rejection): one enumeration each
# Ops between regions that the program runner executes on dense values (fuseflow-partition
# places region boundaries at them).
RUNNER_RESHAPES = {"tensor.expand_shape", "tensor.collapse_shape", "tensor.extract_slice"}
# Dense region inputs whose level order the lowering chooses: values the program runner makes
# between regions (reshapes, slices) and constants (weights, laid out offline).
FREE_LAYOUT_SOURCES = RUNNER_RESHAPES | {"arith.constant"}
# How region inputs are laid out: "declared" (a runtime input or an intermediate is read in the
# level order its type declares; only FREE_LAYOUT_SOURCES are free) or "auto" (every input but a
# block-sparse one is free: the lowering reads it in the level order the dataflow order needs, a
# sparse one keeping its level kinds, and the program pays a relayout where that is not the order
# it arrives in, SAM_SEMANTICS.md 4.12).
LAYOUT_MODES = ("declared", "auto")



class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def level_dims(t: ir.Type) -> list[int] | None:
    """Tensor dimension stored at each level (storage order); None when not a permutation
    (block-sparse formats)."""
    rank = ir.RankedTensorType(t).rank
    enc = encoding(t)
    if enc is None:
        return list(range(rank))
    m = enc.dim_to_lvl
    if m is None:
        return list(range(rank))
    try:
        dims = [ir.AffineDimExpr(e).position for e in m.results]
    except (ValueError, TypeError):
        return None
    return dims if sorted(dims) == list(range(rank)) else None


@dataclass
class Output:
    """One region result: the value it replaces and its expression."""

    value: ir.Value
    expr: Expr
    vars: tuple[str, ...]  # index variable of each result dimension


@dataclass
class Region:
    """A fusion region read as fused einsums over shared index variables."""

    name: str
    ops: list[ir.Operation]
    inputs: list[ir.Value]  # external tensors read by the region, in first-use order
    outputs: list[Output]
    vars: list[str] = field(default_factory=list)
    layouts: str = "declared"  # LAYOUT_MODES
    block: int = 0  # B when the region reads a block-sparse input: it runs on B x B tiles (``blocking``)
    tiling: Tiling | None = None  # then: each node's tile axes and products
    # computed once: the legal orders, the storage precedences, the reductions (``_Acc``)
    _orders: list[list[str]] | None = field(default=None, repr=False, compare=False)
    _precedences: set[tuple[str, str]] | None = field(default=None, repr=False, compare=False)
    _accs: list | None = field(default=None, repr=False, compare=False)
    _free: set[int] | None = field(default=None, repr=False, compare=False)
    _reads: dict | None = field(default=None, repr=False, compare=False)
    _layouts: list | None = field(default=None, repr=False, compare=False)
    _rejection: str | None = field(default=None, repr=False, compare=False)  # why one order failed
    _signatures: dict | None = field(default=None, repr=False, compare=False)  # graph -> its order

    # -- inputs whose storage order the lowering chooses -----------------------------------
    def free_inputs(self) -> set[int]:
        """Dense inputs produced by a reshape or slice (which the program runner executes) or
        constants (weights, laid out offline for free, SAM_SEMANTICS.md 4.12), and with
        ``layouts="auto"`` every input but a block-sparse one (a sparse input's levels keep their
        kinds in the chosen order: CSR read as CSC): the lowering reads them in the level order the
        dataflow order needs (``input_type``), so their storage order constrains nothing, as
        long as every read of one agrees on it (``order_problems``)."""
        if self._free is None:
            if self.layouts == "auto":  # sparse ones too: their levels keep their kinds, in any order
                self._free = {n for n, v in enumerate(self.inputs) if level_dims(v.type) is not None
                              and ir.RankedTensorType(v.type).rank > 0}
            else:
                self._free = {n for n, v in enumerate(self.inputs) if encoding(v.type) is None
                              and isinstance(v, ir.OpResult) and op_name(v.owner) in FREE_LAYOUT_SOURCES}
        return set(self._free)

    def _free_reads(self) -> dict[int, list[tuple[str, ...]]]:
        """The variables of the distinct reads of each free input (computed once)."""
        if self._reads is None:
            free = self.free_inputs()
            reads: dict[int, set[tuple[str, ...]]] = {}
            for out in self.outputs:
                for leaf in leaves(out.expr):
                    if leaf.tensor in free:
                        reads.setdefault(leaf.tensor, set()).add(leaf.vars)
            self._reads = {n: sorted(r) for n, r in sorted(reads.items())}
        return self._reads

    def _layout_problems(self, pos: dict[str, float]) -> list[str]:
        """Free inputs read in two level orders: two reads place a pair of dimensions in opposite
        orders (variables not placed yet have position inf: only certain conflicts count)."""
        problems = []
        for n, reads in self._free_reads().items():
            if len(reads) < 2:
                continue
            rank = len(reads[0])
            for d1, d2 in itertools.combinations(range(rank), 2):
                seen = {pos.get(r[d1], math.inf) < pos.get(r[d2], math.inf) for r in reads
                        if pos.get(r[d1], math.inf) != pos.get(r[d2], math.inf)}
                if len(seen) == 2:
                    problems.append(f"the reads of input {n} need different level orders "
                                    f"(dimensions {d1} and {d2} in both orders)")
                    break
        return problems

    def _free_layouts(self, order: list[str]) -> dict[int, set[tuple[int, ...]]]:
        """For each free input, the level orders (dims sorted by dataflow position) its reads
        need in ``order``."""
        pos = {v: k for k, v in enumerate(order)}
        return {n: {tuple(sorted(range(len(r)), key=lambda d, r=r: (pos.get(r[d], len(order)), d))) for r in reads}
                for n, reads in self._free_reads().items()}

    def input_type(self, n: int, order: list[str]) -> ir.Type:
        """The type input ``n`` is read as in ``order``: its own, or for a free input one whose
        levels follow ``order`` (dense, or sparse keeping each level's kind; the unit dimensions
        of a sparse one stay at their levels). ``graph_type`` is what the graph takes."""
        t = self.inputs[n].type
        layouts = self._free_layouts(order).get(n)
        if self.block:  # a blocked input as it is, another tiled in its (chosen) level order
            dims = list(next(iter(layouts))) if layouts else level_dims(t)
            return t if block_layout(t) else tiled_type(t, self.block, dims, self.tiling.batch_dims.get(n, ()))
        if not layouts:
            return t
        (dims,) = layouts
        dims = list(dims)
        if has_unit_sparse(t):  # only the kept dimensions are ordered
            shape = ir.RankedTensorType(t).shape
            wanted = iter(d for d in dims if shape[d] != 1)
            dims = [d if shape[d] == 1 else next(wanted) for d in level_dims(t)]
        if dims == level_dims(t):
            return t
        rt = ir.RankedTensorType(t)
        if has_sparse_level(t):
            return relevel(t, dims)
        if dims == list(range(len(dims))):
            return ir.RankedTensorType.get(rt.shape, rt.element_type, loc=ir.Location.unknown(t.context))
        names = ", ".join(f"d{d}" for d in range(rt.rank))
        lvls = ", ".join(f"d{d} : dense" for d in dims)
        enc = ir.Attribute.parse(f"#sparse_tensor.encoding<{{ map = ({names}) -> ({lvls}) }}>", t.context)
        return ir.RankedTensorType.get(rt.shape, rt.element_type, enc, loc=ir.Location.unknown(t.context))

    def graph_type(self, n: int, order: list[str]) -> ir.Type:
        """The type of the graph's argument for input ``n`` in ``order``: ``input_type``, and
        for a sparse input with unit dimensions that without them (``drop_unit_levels``; the
        program reshapes the value before the call)."""
        t = self.input_type(n, order)
        return drop_unit_levels(t) if has_unit_sparse(t) else t

    # -- constraints and orders -------------------------------------------------------------
    def precedences(self) -> set[tuple[str, str]]:
        """(a, b) pairs: a must come before b, from the input tensors' level orders."""
        if self._precedences is None:
            self._precedences = self._storage_precedences()
        return set(self._precedences)

    def _storage_precedences(self) -> set[tuple[str, str]]:
        pairs = set()
        free = self.free_inputs()
        for out in self.outputs:
            for leaf in leaves(out.expr):
                if leaf.tensor in free:
                    continue
                t = self.inputs[leaf.tensor].type
                dims = level_dims(t)
                if dims is None:  # a blocked input: its block levels are scanned
                    dims = block_layout(t).dims
                lv = [leaf.vars[d] for d in dims if leaf.vars[d] != UNIT]
                for a, b in itertools.pairwise(lv):
                    if a == b:
                        raise InfeasibleOrder(f"{self.name}: a tensor read on its diagonal ({t})")
                    pairs.add((a, b))
        return pairs

    def order_problems(self, order: list[str]) -> list[str]:
        """Why ``order`` cannot be lowered (empty when it can)."""
        pos = {v: n for n, v in enumerate(order)}
        problems = [f"{a} must come before {b} (storage order of an input)"
                    for a, b in sorted(self.precedences()) if pos[a] > pos[b]]
        accumulators: list = []
        problems += self._layout_problems(pos) + self._accumulator_problems(pos, accumulators)
        # whether a sparse accumulator's output (which never covers a whole dimension), or a
        # sparse input read in a chosen level order, can be joined where it is used is the
        # lowering's decision: ask it
        relevelled = any(has_sparse_level(self.inputs[n].type) for n in self._free_reads()) or \
            any(has_unit_sparse(v.type) for v in self.inputs)  # read in another format
        return problems or (self._lowering_problems(order) if accumulators or relevelled else [])

    def _lowering_problems(self, order: list[str]) -> list[str]:
        """What the lowering itself refuses in ``order`` (run without building IR): e.g. a
        union of a sparse accumulator's output with a value broadcast along its variable."""
        from fuseflow.passes.lowering.emit import DryBuilder, layout_of, lower_region

        if self._layouts is None:
            self._layouts = [layout_of(v.type) for v in self.inputs]
        layouts = list(self._layouts)
        for n, needs in self._free_layouts(order).items():
            (dims,) = needs if len(needs) == 1 else (sorted(needs)[0],)
            layouts[n] = (list(dims), list(self._layouts[n][1]) or ["dense"] * len(dims))  # kinds stay per level
        for n, v in enumerate(self.inputs):
            if has_unit_sparse(v.type):  # read without its unit dimensions
                layouts[n] = layout_of(self.graph_type(n, order), v.type)
        try:
            lower_region(DryBuilder(), self, order, None, layouts)
        except LoweringError as e:
            return [str(e).removeprefix(f"{self.name}: ")]
        return []

    def _accumulator_problems(self, pos: dict[str, float], found: list | None = None) -> list[str]:
        """Problems of the reductions in ``pos``; appends to ``found`` the trailing variables of
        each reduction that has some (a sparse accumulator)."""
        if self._accs is None:
            self._accs = [([v for v in out.vars if v != UNIT], accumulators(out.expr)) for out in self.outputs]
        problems = []
        for out_vars, accs in self._accs:
            root_ctx = sorted(out_vars, key=lambda v: pos[v])
            inner: list[list[str]] = []
            for a in accs:
                ctx = root_ctx if a.parent < 0 else inner[a.parent]
                loops, after = reduction_loops(a.var, a.free, ctx, pos)
                problems += accumulator_problem(a, ctx, pos, after)
                if found is not None and after:
                    found.append(after)
                inner.append(loops)
        return problems

    def _prefix_feasible(self, prefix: list[str]) -> bool:
        """False when every order starting with ``prefix`` has an accumulator problem (the
        variables not placed yet count as coming later); prunes the enumeration."""
        pos: dict[str, float] = {v: n for n, v in enumerate(prefix)}
        for v in self.vars:
            pos.setdefault(v, math.inf)
        return not self._layout_problems(pos) and not self._accumulator_problems(pos)

    def legal_orders(self) -> list[list[str]]:
        """The lowerable dataflow orders, one per distinct graph (the first, lexicographic in
        variable naming, of the orders with one ``scopes.order_signature``: the others only
        reorder variables that never share a scope), at most ``MAX_ORDERS``. Computed once."""
        from fuseflow.passes.lowering.scopes import order_signature

        if self._orders is None and self._shape() in _ORDERS:  # the same region read again
            self._orders, self._signatures, self._rejection = _ORDERS[self._shape()]
        if self._orders is None:
            pairs = self.precedences()
            found, self._signatures = [], {}
            if not has_cycle(self.vars, pairs):
                for order in topological_orders(self.vars, pairs, self._prefix_feasible):
                    problems = self.order_problems(order)
                    if problems:
                        if self._rejection is None:
                            self._rejection = f"{','.join(order)}: {problems[0]}"
                        continue
                    sig = order_signature(self, order)
                    if sig in self._signatures:
                        continue
                    self._signatures[sig] = order
                    found.append(order)
                    if len(found) >= MAX_ORDERS:
                        break
            self._orders = found
            if len(_ORDERS) > 256:
                _ORDERS.clear()
            _ORDERS[self._shape()] = (self._orders, self._signatures, self._rejection)
        return [list(o) for o in self._orders]

    def _shape(self) -> tuple:
        """Everything the legal orders depend on: the outputs' expressions and variables, the
        inputs' types and which inputs are free."""
        return (tuple((o.expr, o.vars) for o in self.outputs), tuple(str(v.type) for v in self.inputs),
                tuple(sorted(self.free_inputs())), tuple(self.vars))

    def canonical_order(self, order: list[str]) -> list[str]:
        """The listed legal order that builds the same graph as legal ``order``."""
        from fuseflow.passes.lowering.scopes import order_signature

        self.legal_orders()
        return list(self._signatures.get(order_signature(self, order), order))

    def best_order(self) -> list[str]:
        """The legal order with the least work on dense bounds (``scopes.order_work``;
        ties: the first)."""
        from fuseflow.passes.lowering.scopes import order_work

        orders = self.legal_orders()
        if not orders:
            return self.choose_order(0)  # raises, naming the reason
        return min(orders, key=lambda o: order_work(self, o))

    def choose_order(self, choice: str | int | None) -> list[str]:
        """An order by index into ``legal_orders``, by explicit permutation ("ikj"/"i,k,j": the
        listed order that builds the same graph is returned) or ``"best"`` (``best_order``)."""
        if str(choice).strip() == "best":
            return self.best_order()
        if choice is None or isinstance(choice, int) or str(choice).strip().isdigit():
            index = 0 if choice is None else int(choice)
            orders = self.legal_orders()
            if not orders:
                why = f"; e.g. {self._rejection}" if self._rejection else ""
                raise InfeasibleOrder(f"{self.name}: no legal dataflow order "
                                      f"({self.describe_constraints()}{why})")
            if index >= len(orders):
                raise InfeasibleOrder(f"{self.name}: order index {index} out of range "
                                      f"({len(orders)} legal orders)")
            return orders[index]
        text = str(choice).replace(",", "").replace(" ", "")
        order = list(text)
        if sorted(order) != sorted(self.vars):
            raise InfeasibleOrder(f"{self.name}: order '{choice}' is not a permutation of "
                                  f"{','.join(self.vars)}")
        problems = self.order_problems(order)
        if problems:
            raise InfeasibleOrder(f"{self.name}: order {','.join(order)} is illegal: {'; '.join(problems)}")
        return self.canonical_order(order)  # the listed order that builds this graph

    def describe_constraints(self) -> str:
        pairs = ", ".join(f"{a}<{b}" for a, b in sorted(self.precedences()))
        return f"variables {','.join(self.vars)}; storage orders {pairs or 'none'}"


def build_region(name: str, ops: list[ir.Operation], layouts: str = "declared") -> Region:
    """Read ``ops`` (in program order) as one fused region; ``layouts``: one of LAYOUT_MODES."""
    if layouts not in LAYOUT_MODES:
        raise FuseflowError(f"layouts must be one of {', '.join(LAYOUT_MODES)}, got '{layouts}'")
    op_index = {}
    for n, op in enumerate(ops):
        op_index[_key(op)] = n
    inputs: list[ir.Value] = []
    uf = _UnionFind()
    trees: dict[int, OpTree] = {}

    def input_index(v: ir.Value) -> int:
        for n, x in enumerate(inputs):
            if x == v:
                return n
        inputs.append(v)
        return len(inputs) - 1

    use_ids = itertools.count()
    for n, op in enumerate(ops):
        def operand_leaf(v, dims, n=n, op=op):
            producer = v.owner if isinstance(v, ir.OpResult) else None
            p = op_index.get(_key(producer)) if producer is not None else None
            if p is None:
                if None in dims and encoding(v.type) is not None:
                    try:  # a sparse one is read without its unit dimensions: is there such a format?
                        drop_unit_levels(v.type)
                    except FuseflowError as e:
                        raise UnsupportedOp(op, f"sparse operand {value_name(v)} ({v.type}): {e}") from None
                return Leaf(input_index(v), tuple(UNIT if d is None else f"#{d}" for d in dims))
            ptree = trees[p]
            # The producer's expression is inlined (recomputed per use) with all its variables
            # renamed apart for this use; its result dims are unified with this operand's dims.
            expr = _canonical(ptree.expr, uf)
            suffix = f"@{next(use_ids)}"
            expr = rename(expr, {v: v + suffix for v in all_vars(expr)})
            for t, d in enumerate(dims):
                if d is None or ptree.out_dims[t] is None:
                    continue
                uf.union(uf.find(f"%{p}.{ptree.out_dims[t]}") + suffix, f"%{n}.{d}")
            return expr

        trees[n] = read_generic(op, n, operand_leaf)
    # region outputs: results used outside the region
    outputs = []
    for n, op in enumerate(ops):
        res = op.results[0]
        if _used_outside(res, op_index):
            outputs.append((res, trees[n]))
    if not outputs:
        raise FuseflowError(f"{name}: region has no result used outside it")
    # canonical variable names in order of first appearance
    canon: dict[str, str] = {UNIT: UNIT}
    exprs = []
    bound: dict = {}
    for res, tree in outputs:
        e = _share_bound(_canonical(tree.expr, uf), bound)
        n = ops.index(tree.op)
        out_vars = tuple(UNIT if d is None else uf.find(f"%{n}.{d}") for d in tree.out_dims)
        exprs.append((res, e, out_vars))
    order_seen = []
    for _, e, out_vars in exprs:
        for v in list(out_vars) + _vars_in_order(e):
            if v not in canon:  # (UNIT is pre-seeded: it is no variable)
                order_seen.append(v)
                k = len(order_seen) - 1
                canon[v] = VAR_NAMES[k] if k < len(VAR_NAMES) else f"v{k}"
    region = Region(name, ops, inputs, [], layouts=layouts)
    for res, e, out_vars in exprs:
        # one object per distinct subexpression: the lowering compares and hashes them often
        region.outputs.append(Output(res, intern(rename(e, canon)), tuple(canon[v] for v in out_vars)))
    region.vars = [canon[v] for v in order_seen]
    region.block = region_block(name, inputs)
    if region.block:
        region.tiling = tiling(name, region.block, inputs, region.outputs)
    return region


def _encoding_levels(t: ir.Type) -> tuple[str, int, int, list[str]]:
    """(encoding text, start and end of its level list, the levels as ``"d0 : compressed"``)."""
    text = str(ir.RankedTensorType(t).encoding)
    start = text.index("->") + text[text.index("->"):].index("(")
    depth, end = 0, start
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            break
    levels, depth, item = [], 0, ""
    for ch in text[start + 1:end]:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            levels.append(item)
            item = ""
        else:
            item += ch
    levels.append(item)
    return text, start, end, [lv.strip() for lv in levels]


def relevel(t: ir.Type, dims: list[int]) -> ir.Type:
    """Sparse type ``t`` with its levels over ``dims`` (outermost first), each level keeping its
    kind and the encoding its widths: CSR releveled over (1, 0) is CSC, DCSR is DCSC."""
    rt = ir.RankedTensorType(t)
    text, start, end, levels = _encoding_levels(t)
    kinds = [lv.split(":", 1)[1].strip() for lv in levels]
    spec = ", ".join(f"d{d} : {k}" for d, k in zip(dims, kinds, strict=True))
    enc = ir.Attribute.parse(text[: start + 1] + spec + text[end:], t.context)
    return ir.RankedTensorType.get(rt.shape, rt.element_type, enc, loc=ir.Location.unknown(t.context))


def has_unit_sparse(t: ir.Type) -> bool:
    """``t`` stores some level sparsely and has a unit (size-1) dimension: a region reads it
    without its unit dimensions (``drop_unit_levels``)."""
    return 1 in ir.RankedTensorType(t).shape and has_sparse_level(t)


def drop_unit_levels(t: ir.Type) -> ir.Type:
    """Sparse type ``t`` without its unit (size-1) dimensions: the type a graph reads it as.

    The kept dimensions (renumbered in order) keep their storage order and each level its kind,
    but for what the dropped levels decide: a dense level above a dropped sparse one becomes
    compressed (it keeps only the coordinates that have an entry below: an ``n x 1`` CSR is a
    sparse vector of its non-empty rows), the first level cannot be a singleton (it becomes
    compressed, nonunique where it was: a batch-1 COO tensor is a 2-D COO one) and the last one
    is unique. A ``1 x n`` CSR is a sparse vector of its row; a batched CSR of batch 1 is its
    CSR slice. With only dense levels left the type is dense, and a tensor of unit dimensions
    only (one value) is read as a dense one of its shape. The program reshapes the value
    (``tensor.collapse_shape``): a reinterpretation of its stored entries, no densifying.
    Raises ``FuseflowError`` for a level kind it does not handle (or a block-sparse type)."""
    rt = ir.RankedTensorType(t)
    shape = list(rt.shape)
    dims = level_dims(t)
    loc = ir.Location.unknown(t.context)
    if dims is None:
        raise FuseflowError(f"a block-sparse type ({t}) with a unit dimension is not lowered")
    kept = [d for d in range(rt.rank) if shape[d] != 1]
    if not kept:
        return ir.RankedTensorType.get(shape, rt.element_type, loc=loc)
    text, _, end, items = _encoding_levels(t)
    levels: list[list] = []  # [kept dim, kind, properties]
    for d, item in zip(dims, items, strict=True):
        kind = item.split(":", 1)[1].strip()
        name, _, props = kind.partition("(")
        name = name.strip()
        if name not in ("dense", "compressed", "singleton"):
            raise FuseflowError(f"a '{name}' level of {t} with a unit dimension is not lowered")
        if shape[d] == 1:
            if name != "dense" and levels and levels[-1][1] == "dense":
                levels[-1][1] = "compressed"
            continue
        levels.append([kept.index(d), name, [p.strip() for p in props.rstrip(")").split(",") if p.strip()]])
    if levels[0][1] == "singleton":
        levels[0][1] = "compressed"
        levels[0][2] = [p for p in levels[0][2] if p == "nonunique"]
    levels[-1][2] = [p for p in levels[-1][2] if p != "nonunique"]
    kept_shape = [shape[d] for d in kept]
    order = [d for d, _, _ in levels]
    if all(k == "dense" for _, k, _ in levels) and order == sorted(order):
        return ir.RankedTensorType.get(kept_shape, rt.element_type, loc=loc)
    spec = ", ".join(f"d{d} : {k}" + (f"({', '.join(p)})" if p else "") for d, k, p in levels)
    names = ", ".join(f"d{n}" for n in range(len(kept)))
    head = text[:text.index("map")] + f"map = ({names}) -> ("  # the widths after the map stay
    enc = ir.Attribute.parse(head + spec + text[end:], t.context)
    return ir.RankedTensorType.get(kept_shape, rt.element_type, enc, loc=loc)


def has_sparse_level(t: ir.Type) -> bool:
    """Whether ``t`` stores some level sparsely (an all-dense encoding is a layout, not sparse)."""
    from fuseflow.dialects.sam import tensor_level_formats

    return encoding(t) is not None and any(str(f) != "dense" for f in tensor_level_formats(t) or ["?"])


def _used_outside(v: ir.Value, op_index: dict) -> bool:
    """A use outside the region's ops, looking through unit reshapes (read through by the
    region's reads: one whose uses are all inside the region is no use outside)."""
    for u in v.uses:
        if _key(u.owner) in op_index:
            continue
        res = list(u.owner.results)
        if len(res) == 1 and is_unit_reshape(res[0]) and not _used_outside(res[0], op_index):
            continue
        return True
    return False


def _key(op) -> object:
    if op is None:
        return None
    op = op.operation if hasattr(op, "operation") else op
    return op


def _canonical(e: Expr, uf: _UnionFind) -> Expr:
    if isinstance(e, Leaf):
        return Leaf(e.tensor, tuple(v if v == UNIT else uf.find(v) for v in e.vars))
    if isinstance(e, Reduce):
        return Reduce(e.kind, uf.find(e.var), _canonical(e.arg, uf), e.stored)
    return Map(e.kind, tuple(_canonical(a, uf) for a in e.args), e.scalar, e.stored)


def _share_bound(e: Expr, names: dict) -> Expr:
    """``e`` with the variable of every reduction named after the reduction's structure: the
    copies of one producer inlined at several uses (renamed apart when read) become equal
    expressions again, one node that the lowering builds once and fans out."""
    if isinstance(e, Leaf):
        return e
    if isinstance(e, Map):
        return Map(e.kind, tuple(_share_bound(a, names) for a in e.args), e.scalar, e.stored)
    arg = _share_bound(e.arg, names)
    # named by its structure up to the names of its free variables: the reduction inside every
    # use of one producer gets one variable, even where the uses index it differently
    free = dict.fromkeys(v for v in _vars_in_order(arg) if v != e.var)
    key = (e.kind, e.stored, rename(arg, {e.var: "?", **{v: f"#{n}" for n, v in enumerate(free)}}))
    var = names.setdefault(key, e.var)
    return Reduce(e.kind, var, rename(arg, {e.var: var}), e.stored)
