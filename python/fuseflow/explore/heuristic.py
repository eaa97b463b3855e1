"""The cost heuristic: estimated work of a fusion region in a dataflow order, before simulation.

Per fused expression (SAM_SEMANTICS.md section 6):

- **ops**: every arithmetic node (``Map``, ``Reduce``) runs once per point of the loops it runs
  in; their count is the product of the coordinate counts of those loops. A node runs in the
  loops of its own variables plus every *enclosing* loop that comes before its innermost own
  variable in the order: such a loop re-runs the node (recomputation under broadcast, e.g.
  layer-1 rows per neighbour in a fully fused GCN, SAM_SEMANTICS.md 4.10). A node the lowering
  builds once and fans out to several consumers (a view, ``lowering.scopes.plan_views``) counts
  once, in its own loops. The enclosing loops of a ``Reduce``'s
  operand are those of the lowering (``reduction_loops``): the loops around the reduction before
  its variable, the variable, and the later ones its value depends on (a sparse accumulator);
  a later loop it does not depend on only repeats its result. A ``Reduce`` counts its
  combines, so a sum of products costs x2.
- **bytes**: every input leaf reads its elements once per point of its loops (the same rule),
  4 bytes per value plus 4 per stored coordinate; the region's outputs are written once
  (4 bytes per stored element plus coordinates).

Coordinate counts come from the actual tensors, with no user input: a leaf stored in format F
contributes, for the variable at storage level l, the mean fiber length at that level (stored
coordinates at l / stored coordinates at l-1; the dimension size for a dense level); a level-1
fiber whose level-0 variable another leaf drives is weighted by how often that leaf visits each
coordinate (degree skew: a fully fused GCN rebuilds row k of layer 1 once per stored A[i,k], at
the cost of k's own degree, so the count is sum_k in(k) deg(k), not nnz x mean degree). A product
intersects (minimum), a sum unions (maximum, capped at the dimension), a function with
f(0) != 0 densifies. Inside a subtree, a variable's count is the smaller of the subtree's own and
its ancestors' (an intersection made above a subtree bounds the iterations inside it; a union
above does not widen them); a loop the subtree does not index takes its ancestors' count. Values passed between regions are computed (a dense
numpy interpretation of the expression trees, exact up to float rounding) and measured in the
format their type declares.

A blocked region (``Region.block``: it runs on B x B tiles) is counted at the coordinates its
tiles cover: a block-sparse tensor, or a sparse one the region tiles, counts every element of its
stored blocks and one coordinate per block (``measure_as``); a node runs once per tile, so an
enclosing blocked loop that is not one of its own variables repeats it once per block; a
reduction over a blocked variable adds a tile combine per block to its in-tile work.

    est = RegionEstimator.from_partitioned(module, func_name, args)   # after fuseflow-partition
    est.estimate(region_index, order)                    # -> Estimate(ops, bytes)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fuseflow.errors import FuseflowError
from fuseflow.passes.lowering import (
    REDUCE_IDENTITY,
    UNIT,
    ZERO_PRESERVING_SCALAR,
    ZERO_PRESERVING_UNARY,
    Leaf,
    Map,
    Reduce,
    Region,
    driven,
    free_vars,
    level_dims,
    plan_views,
    reduction_loops,
    scope_key,
)

VALUE_BYTES = 4
COORD_BYTES = 4
_UNION = {"add", "sub", "max", "min"}


class HeuristicError(FuseflowError):
    """The heuristic cannot estimate this program (a value it cannot trace to an input)."""


@dataclass(frozen=True)
class Estimate:
    """Estimated arithmetic operations and bytes moved; ``work`` = ops + bytes / 4 (elements)."""

    ops: float
    bytes: float

    @property
    def work(self) -> float:
        return self.ops + self.bytes / VALUE_BYTES

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.ops + other.ops, self.bytes + other.bytes)


ZERO = Estimate(0.0, 0.0)


@dataclass(frozen=True)
class TensorStats:
    """Storage statistics of one tensor in its format: ``dims[l]`` the tensor dimension of
    level l, ``compressed[l]`` whether level l stores coordinates, ``coords[l]`` the number of
    stored coordinates at level l (prefixes of stored entries).

    For degree skew (a neighbour's row read per edge): ``visits[l]``, for a compressed level, how
    many stored level-l coordinates hold each coordinate value (a CSR matrix's column counts at
    level 1); ``row_lengths``, when level 1 is compressed, the level-1 fiber length under each
    level-0 coordinate."""

    shape: tuple[int, ...]
    dims: tuple[int, ...]
    compressed: tuple[bool, ...]
    coords: tuple[int, ...]
    visits: tuple = field(default=(), compare=False, repr=False)
    row_lengths: np.ndarray | None = field(default=None, compare=False, repr=False)
    per_coord: int = 1  # elements per stored coordinate: B * B for B x B tiles (a coordinate per tile)

    @classmethod
    def measure(cls, array: np.ndarray, dims: list[int], compressed: list[bool], per_coord: int = 1) -> TensorStats:
        a = np.transpose(np.asarray(array), dims) if array.ndim else np.asarray(array)
        nz = np.argwhere(a != 0) if any(compressed) else None  # dense levels need no scan
        coords, visits = [], []
        row_lengths = None
        prev = 1
        for lv in range(a.ndim):
            if not compressed[lv]:
                n = prev * a.shape[lv]
                visits.append(None)
            else:
                flat = (np.unique(np.ravel_multi_index(tuple(nz[:, : lv + 1].T), a.shape[: lv + 1]))
                        if len(nz) else np.zeros(0, np.int64))
                n = len(flat)
                visits.append(np.bincount(flat % a.shape[lv], minlength=a.shape[lv]).astype(np.float64))
                if lv == 1:
                    row_lengths = np.bincount(flat // a.shape[1], minlength=a.shape[0]).astype(np.float64)
            coords.append(int(n))
            prev = n
        return cls(tuple(array.shape), tuple(dims), tuple(compressed), tuple(coords), tuple(visits), row_lengths,
                   per_coord)

    def fiber_length(self, level: int) -> float:
        """Mean number of stored coordinates per fiber at ``level``."""
        above = self.coords[level - 1] if level else 1
        return self.coords[level] / above if above else 0.0

    def weighted_fiber_length(self, level: int, weights: np.ndarray | None) -> float:
        """Mean fiber length at ``level`` when the level-0 coordinates are visited ``weights``
        times each (by another tensor's loop): exact for level 1, the plain mean otherwise."""
        if level != 1 or weights is None or self.row_lengths is None or len(weights) != len(self.row_lengths):
            return self.fiber_length(level)
        total = float(weights.sum())
        return float(weights @ self.row_lengths) / total if total else 0.0

    @property
    def stored(self) -> int:
        return self.coords[-1] if self.coords else 1

    @property
    def bytes(self) -> float:
        crd = sum(self.coords[lv] for lv in range(len(self.coords)) if self.compressed[lv])
        return VALUE_BYTES * self.stored + COORD_BYTES * crd / self.per_coord


def storage_of(t) -> tuple[list[int], list[bool]]:
    """Level dims and which levels are compressed, from a tensor type's encoding."""
    from fuseflow.bindings import ir
    from fuseflow.passes.ir_utils import encoding

    rank = ir.RankedTensorType(t).rank
    dims = level_dims(t)
    if dims is None:
        raise HeuristicError(f"type {t}: its level map is neither a permutation nor square blocks")
    enc = encoding(t)
    if enc is None:
        return dims, [False] * rank
    kinds = [str(k).lower() for k in enc.lvl_types]
    compressed = ["dense" not in k and not k.strip().isdigit() for k in kinds]
    if any(k.strip().isdigit() for k in kinds):  # older bindings: integer level types
        from fuseflow.frontend.formats import format_from_encoding

        fmt = format_from_encoding(str(enc))
        compressed = [lv.kind != "dense" for lv in fmt.levels_for(rank)]
    return dims, compressed


def stored_blocks(array: np.ndarray, size: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """``array`` with every element of a stored block (a ``size``-wide block holding a nonzero)
    1 and every other 0: the elements a tiled region computes on, the zeros inside stored
    blocks included. ``batch``: dimensions that are not blocked."""
    a = np.asarray(array)
    shape = []
    for d, n in enumerate(a.shape):
        if d in batch:
            shape += [n, 1]
        elif n % size:
            raise HeuristicError(f"dimension {d} ({n}) is not a multiple of the block size {size}")
        else:
            shape += [n // size, size]
    stored = (a.reshape(shape) != 0).any(axis=tuple(range(1, 2 * a.ndim, 2)), keepdims=True)
    return np.broadcast_to(stored, shape).reshape(a.shape).astype(np.float64)


def measure_as(array: np.ndarray, t, block: int = 0, batch: tuple[int, ...] = ()) -> TensorStats:
    """Statistics of ``array`` stored as type ``t``. A block-sparse type, or with ``block`` a
    sparse type that a blocked region reads or writes as tiles (``batch``: its dimensions that
    are not blocked), counts every element of its stored blocks and one coordinate per block."""
    from fuseflow.dialects.sam_types import block_layout

    try:
        layout = block_layout(t)
    except ValueError as e:
        raise HeuristicError(f"block-sparse type {t}: {e}") from None
    if layout is not None:
        dims, batch, block = layout.dims, layout.batch, layout.size
        compressed = [f != "dense" for f in layout.formats]
    else:
        dims, compressed = storage_of(t)
        block = block if any(compressed) else 0
    if not block:
        return TensorStats.measure(array, dims, compressed)
    return TensorStats.measure(stored_blocks(array, block, batch), dims, compressed,
                               per_coord=block ** (np.ndim(array) - len(batch)))


# --------------------------------------------------------------------------------------------
# Dense interpretation of expression trees (values passed between regions)


def _align(arr: np.ndarray, have: tuple[str, ...], want: tuple[str, ...]) -> np.ndarray:
    perm = [have.index(v) for v in want if v in have]
    arr = np.transpose(arr, perm) if perm else arr
    shape = [arr.shape[[v for v in want if v in have].index(v)] if v in have else 1 for v in want]
    return arr.reshape(shape)


def evaluate(e, tensors: list[np.ndarray]) -> tuple[np.ndarray, tuple[str, ...]]:
    """The value of expression ``e`` (dense, float64) and its variables, in sorted order."""
    from fuseflow.sim.functional import alu_apply
    from fuseflow.sim.graph import AluCode

    if isinstance(e, Leaf):
        arr = np.asarray(tensors[e.tensor], np.float64)
        kept = [d for d, v in enumerate(e.vars) if v != UNIT]  # unit dimensions drop out
        arr = arr.reshape([arr.shape[d] for d in kept])
        order = sorted(range(len(kept)), key=lambda n: e.vars[kept[n]])
        return np.transpose(arr, order), tuple(e.vars[kept[n]] for n in order)
    if isinstance(e, Reduce):
        inner = e.arg
        if e.kind == "add" and isinstance(inner, Map) and inner.kind == "mul" and len(inner.args) == 2 \
                and inner.scalar is None:
            (a, av), (b, bv) = evaluate(inner.args[0], tensors), evaluate(inner.args[1], tensors)
            out = tuple(sorted((set(av) | set(bv)) - {e.var}))
            letters = {v: chr(ord("a") + n) for n, v in enumerate(sorted(set(av) | set(bv)))}
            spec = f"{''.join(letters[v] for v in av)},{''.join(letters[v] for v in bv)}->" \
                   f"{''.join(letters[v] for v in out)}"
            return np.einsum(spec, a, b), out
        arr, vs = evaluate(inner, tensors)
        axis = vs.index(e.var)
        fn = {"add": np.sum, "max": np.max, "min": np.min}[e.kind]
        if e.stored:  # over the stored (here: nonzero) entries only
            arr = np.where(arr != 0, arr, REDUCE_IDENTITY[e.kind])
        if arr.shape[axis] == 0:
            shape = arr.shape[:axis] + arr.shape[axis + 1:]
            return np.full(shape, REDUCE_IDENTITY[e.kind]), vs[:axis] + vs[axis + 1:]
        return fn(arr, axis=axis), vs[:axis] + vs[axis + 1:]
    args = [evaluate(a, tensors) for a in e.args]
    if e.kind == "sample":  # the left value where the right operand stores an entry
        (a, av), (b, bv) = args
        out = tuple(sorted(set(av) | set(bv)))
        return np.where(_align(b, bv, out) != 0, _align(a, av, out), 0.0), out
    if e.stored:  # evaluated at the stored entries of the carried operands only
        value, vs = evaluate(Map(e.kind, e.args, e.scalar), tensors)
        for n in e.stored:
            x, xv = args[n]
            value = np.where(_align(x, xv, vs) != 0, value, 0.0)
        return value, vs
    if e.scalar is not None:
        (x, vs), = args
        kind = {"add": "ADDC", "mul": "MULC", "div": "DIVC", "max": "MAXC", "min": "MINC"}.get(e.kind)
        if e.kind == "sub":
            return alu_apply(AluCode.ADDC, x, None, -e.scalar), vs
        if kind is None:
            raise HeuristicError(f"no scalar form of '{e.kind}'")
        return alu_apply(AluCode[kind], x, None, e.scalar), vs
    op = AluCode.__members__.get(e.kind.upper())
    if op is None or len(args) not in (1, 2):
        raise HeuristicError(f"no ALU semantics for '{e.kind}' with {len(args)} operand(s)")
    if len(args) == 1:
        (x, vs), = args
        return alu_apply(op, x), vs
    (a, av), (b, bv) = args
    out = tuple(sorted(set(av) | set(bv)))
    return alu_apply(op, _align(a, av, out), _align(b, bv, out)), out


def output_array(e, out_vars: tuple[str, ...], tensors: list[np.ndarray], sizes: dict[str, int]) -> np.ndarray:
    arr, vs = evaluate(e, tensors)
    kept = tuple(v for v in out_vars if v != UNIT)
    arr = np.broadcast_to(_align(arr, vs, kept), tuple(sizes[v] for v in kept))
    return arr.reshape(tuple(1 if v == UNIT else sizes[v] for v in out_vars)).copy()


# --------------------------------------------------------------------------------------------
# Counting


def var_sizes(region: Region, shapes: list[tuple[int, ...]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for out in region.outputs:
        stack = [out.expr]
        while stack:
            e = stack.pop()
            if isinstance(e, Leaf):
                for d, v in enumerate(e.vars):
                    sizes[v] = shapes[e.tensor][d]
            elif isinstance(e, Reduce):
                stack.append(e.arg)
            else:
                stack.extend(e.args)
    return sizes


class _Counter:
    def __init__(self, region: Region, stats: list[TensorStats], sizes: dict[str, int], pos: dict[str, int],
                 sources: dict):
        self.region, self.stats, self.sizes, self.pos = region, stats, sizes, pos
        # a blocked region: B, and the variables that are tile axes (not plain batch loops)
        self.block = region.block
        self.blocked = set(region.vars) - region.tiling.batch if region.block else set()
        self.ops = 0.0
        self.bytes = 0.0
        self.shared = plan_views(region, sorted(pos, key=pos.__getitem__))
        self.seen: set = set()
        self.sources = sources  # visit_source results: they do not depend on the order

    def counts(self, e, weights: dict[str, np.ndarray]) -> dict[str, float]:
        """Coordinate count of each variable of ``e`` (bottom-up: intersect, union, densify);
        ``weights[v]``: how often each coordinate of v is visited by the loop that drives it."""
        if isinstance(e, Leaf):
            st = self.stats[e.tensor]
            top = e.vars[st.dims[0]] if st.dims else None
            return {e.vars[d]: (st.weighted_fiber_length(lv, weights.get(top)) if st.compressed[lv]
                                else float(st.shape[d]))
                    for lv, d in enumerate(st.dims) if e.vars[d] != UNIT}
        if isinstance(e, Reduce):
            return {v: n for v, n in self.counts(e.arg, weights).items() if v != e.var}
        parts = [self.counts(a, weights) for a in e.args]
        out: dict[str, float] = {}
        if len(parts) == 1:
            zero_preserving = (e.kind in ZERO_PRESERVING_UNARY if e.scalar is None
                               else e.kind in ZERO_PRESERVING_SCALAR)
            return dict(parts[0]) if zero_preserving else {v: float(self.sizes[v]) for v in parts[0]}
        for p in parts:
            for v, n in p.items():
                if v not in out:
                    out[v] = n
                elif e.kind in _UNION:
                    out[v] = min(max(out[v], n), float(self.sizes[v]))
                else:
                    out[v] = min(out[v], n)
        if e.kind in _UNION:  # a union of a variable only one side has covers the whole dimension
            for v in out:
                if sum(v in p for p in parts) < len(parts):
                    out[v] = float(self.sizes[v])
        return out

    def loops(self, own: set[str], enclosing: set[str]) -> list[str]:
        if not own:
            return []
        last = max(self.pos[v] for v in own)
        return [v for v in own | enclosing if v in own or self.pos[v] < last]

    def product(self, loops: list[str], ctx: dict[str, float], own: set[str] = frozenset()) -> float:
        """Points of ``loops`` (coordinate counts from ``ctx``). In a blocked region a node runs
        once per tile: an enclosing blocked loop that is not one of the node's ``own`` variables
        repeats it once per block, not per coordinate."""
        n = math.prod(ctx.get(v, float(self.sizes[v])) for v in loops)
        if self.block:
            n /= self.block ** sum(1 for v in loops if v not in own and v in self.blocked)
        return n

    def visit_source(self, e, v: str) -> np.ndarray | None:
        """Visit counts of v's coordinates from the leaf of ``e`` that drives v (the fewest
        coordinates; None when that is a dense level: every coordinate equally)."""
        key = (e, v)
        if key not in self.sources:
            best, stack = None, [e]
            while stack:
                x = stack.pop()
                if isinstance(x, Leaf):
                    st = self.stats[x.tensor]
                    for lv, d in enumerate(st.dims):
                        if x.vars[d] == v:
                            n = st.fiber_length(lv) if st.compressed[lv] else float(st.shape[d])
                            if best is None or n < best[0]:
                                best = (n, st.visits[lv] if st.compressed[lv] else None)
                elif isinstance(x, Reduce):
                    if x.var != v:
                        stack.append(x.arg)
                else:
                    stack.extend(x.args)
            self.sources[key] = best[1] if best else None
        return self.sources[key]

    def walk(self, e, enclosing: set[str], ctx: dict[str, float], weights: dict | None = None) -> None:
        if not isinstance(e, Leaf) and not driven(e, list(enclosing), self.pos):
            key = scope_key(e, self.pos)
            if key in self.shared:  # built once and fanned out (a view): counted once
                if key in self.seen:
                    return
                self.seen.add(key)
                enclosing = free_vars(e)
                weights = {}
        weights = weights or {}
        # the loops this node drives first: their visit counts weight the fibers below them
        new = {v: src for v in free_vars(e) | ({e.var} if isinstance(e, Reduce) else set())
               if v not in weights and v != UNIT and (src := self.visit_source(e, v)) is not None}
        if new:
            weights = {**weights, **new}
        mine = self.counts(e.arg if isinstance(e, Reduce) else e, weights)
        ctx = {**ctx, **{v: min(n, ctx.get(v, n)) for v, n in mine.items()}}
        if isinstance(e, Leaf):
            st = self.stats[e.tensor]
            own = set(e.vars) - {UNIT}
            n = self.product(self.loops(own, enclosing), ctx, own)
            self.bytes += n * (VALUE_BYTES + COORD_BYTES * sum(st.compressed) / st.per_coord)
            return
        if isinstance(e, Reduce):
            own = free_vars(e.arg)
            # the operand's loops: the enclosing ones before the reduction variable, it, and
            # the ones after it that the value depends on (a sparse accumulator's levels); an
            # enclosing loop after it that the value does not depend on repeats the result
            ordered = sorted(enclosing, key=lambda v: self.pos[v])
            loops, trailing = reduction_loops(e.var, free_vars(e), ordered, self.pos)
            inner, after = set(loops), set(trailing)
            # the accumulator's levels are iterated inside before the joins around it: those
            # do not bound them
            ctx = {v: n for v, n in ctx.items() if v not in after}
            points = self.product(self.loops(own, inner), {**ctx, **{v: n for v, n in mine.items() if v in after}}, own)
            # tiles: reduced inside each tile, then one tile combine per block of the variable
            self.ops += points * (1 + 1 / self.block) if e.var in self.blocked else points
            self.walk(e.arg, inner, ctx, weights)
            return
        own = free_vars(e)
        self.ops += self.product(self.loops(own, enclosing), ctx, own)
        for a in e.args:
            self.walk(a, enclosing, ctx, weights)


class RegionEstimator:
    """Estimates for the regions of one partitioned program on given inputs.

    ``regions``: the ``Region``s (in program order); ``stats[r]``: statistics of region r's
    input tensors; ``output_stats[r]``: of its outputs (in the format of their types)."""

    def __init__(self, regions: list[Region], stats: list[list[TensorStats]], output_stats: list[list[TensorStats]],
                 arrays: list[list[np.ndarray]] | None = None):
        self.regions = regions
        self.stats = stats
        self.output_stats = output_stats
        self.sizes = [var_sizes(r, [s.shape for s in st]) for r, st in zip(regions, stats, strict=True)]
        # visit_source results per region and per choice of sparse input level orders
        self.sources: dict[tuple, dict] = {}
        self.arrays = arrays  # per region, per input: its values (a sparse input's stats in another level order)
        self._relevelled: dict[tuple, TensorStats] = {}

    def stats_in(self, r: int, order: list[str]) -> tuple[list[TensorStats], tuple]:
        """Region ``r``'s input statistics in ``order``: a sparse input the region reads in
        another level order (``layouts="auto"``, ``Region.input_type``) is measured in that one.
        Also returns which inputs were (the key of the statistics)."""
        from fuseflow.passes.lowering import has_sparse_level

        region, stats = self.regions[r], list(self.stats[r])
        variant = []
        if self.arrays is None:
            return stats, ()
        for n in sorted(region.free_inputs()):
            t = region.input_type(n, order)
            if t == region.inputs[n].type or not has_sparse_level(t):
                continue
            key = (r, n, str(t))
            if key not in self._relevelled:
                self._relevelled[key] = measure_as(self.arrays[r][n], t)
            dims = self._relevelled[key].dims
            stats[n] = self._relevelled[key]
            variant.append((n, tuple(dims)))
        return stats, tuple(variant)

    @classmethod
    def from_partitioned(cls, module, func_name: str, args: list[np.ndarray], *, evaluate: bool = True,
                         regions: list[Region] | None = None, layouts: str = "declared") -> RegionEstimator:
        """From a module after ``fuseflow-partition`` and the entry function's bound arguments
        (``ImportedModel.bind``: forward() arguments then lifted weights, as numpy).
        ``evaluate=False`` does not compute the values passed between regions (a dense
        interpretation of every region, costly at paper scale): they count as fully dense.
        ``regions``: the module's regions when already read (``fuseflow.compiler.partition``);
        ``layouts``: how they read dense inputs (``fuseflow.passes.lowering.LAYOUT_MODES``)."""
        from fuseflow.bindings import ir, op_name
        from fuseflow.constants import ConstantReader
        from fuseflow.passes.convert_linalg_to_sam import analyze_regions
        from fuseflow.program import DENSE_OPS

        entry = None
        for op in module.body.operations:
            if op_name(op) == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == func_name:
                entry = op
        if entry is None:
            raise HeuristicError(f"the module has no function @{func_name}")
        if regions is None:
            regions = analyze_regions(entry, "region", layouts)
        constants = ConstantReader(module)
        values: list[tuple[object, np.ndarray]] = []  # (ir.Value, array): values are compared, not hashed

        def lookup(v):
            for k, arr in values:
                if k == v:
                    return arr
            return None

        def value_of(v) -> np.ndarray:
            got = lookup(v)
            if got is not None:
                return got
            if isinstance(v, ir.BlockArgument):
                if v.owner.owner != entry.operation:
                    raise HeuristicError("a region reads a value defined inside another op")
                arr = np.asarray(args[v.arg_number], np.float64)
            else:
                owner = v.owner
                name = op_name(owner)
                if name == "arith.constant":
                    arr = constants.array(owner.attributes["value"]).astype(np.float64)
                elif name == "sparse_tensor.convert":
                    arr = value_of(owner.operands[0])
                elif name in DENSE_OPS:  # reshapes and slices between regions, casts
                    arr = np.asarray(DENSE_OPS[name](owner, value_of(owner.operands[0])), np.float64)
                else:
                    for r, region in enumerate(regions):
                        for out in region.outputs:
                            if out.value == v:
                                run_region(r)
                                return lookup(v)
                    raise HeuristicError(f"cannot trace value produced by '{name}' to an input")
            values.append((v, arr))
            return arr

        done: set[int] = set()

        def run_region(r: int) -> None:
            if r in done:
                return
            region = regions[r]
            tensors = [value_of(v) for v in region.inputs]
            sizes = var_sizes(region, [t.shape for t in tensors])
            for out in region.outputs:
                if evaluate:
                    arr = output_array(out.expr, out.vars, tensors, sizes)
                else:
                    arr = np.ones(tuple(1 if v == UNIT else sizes[v] for v in out.vars))
                values.append((out.value, arr))
            done.add(r)

        stats, out_stats, arrays = [], [], []
        for r, region in enumerate(regions):
            run_region(r)
            stats.append([measure_as(value_of(v), v.type) for v in region.inputs])
            arrays.append([value_of(v) for v in region.inputs])
            ost = []
            for out in region.outputs:  # a blocked region writes a sparse output as tiles
                batch = tuple(d for d, v in enumerate(out.vars)
                              if region.block and (v == UNIT or v in region.tiling.batch))
                ost.append(measure_as(lookup(out.value), out.value.type, region.block, batch))
            out_stats.append(ost)
        return cls(regions, stats, out_stats, arrays)

    def estimate(self, r: int, order) -> Estimate:
        """Estimate of region ``r`` in ``order`` (a sequence of variables, e.g. "ikj" or
        ["i", "k", "j"])."""
        region = self.regions[r]
        order = parse_order(order, region.vars)
        pos = {v: n for n, v in enumerate(order)}
        stats, variant = self.stats_in(r, order)
        c = _Counter(region, stats, self.sizes[r], pos, self.sources.setdefault((r, variant), {}))
        for out in region.outputs:
            c.walk(out.expr, set(out.vars) - {UNIT}, {})
        written = sum(s.bytes for s in self.output_stats[r])
        return Estimate(c.ops, c.bytes + written)

    def total(self, orders) -> Estimate:
        """Sum over regions; ``orders[r]`` is region r's order."""
        est = ZERO
        for r, o in enumerate(orders):
            est = est + self.estimate(r, o)
        return est


def parse_order(order, variables) -> list[str]:
    """``"i,k,j"``, ``"ikj"`` or a sequence of variable names -> a list of names."""
    if isinstance(order, str):
        items = order.split(",") if "," in order else list(order)
    else:
        items = [str(v) for v in order]
    if sorted(items) != sorted(variables):
        raise HeuristicError(f"order {order!r} is not a permutation of {','.join(variables)}")
    return items


def spearman(xs, ys) -> float:
    """Spearman rank correlation (average ranks for ties); nan with fewer than 2 points or a
    constant side."""
    from scipy.stats import spearmanr

    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return math.nan
    return float(spearmanr(xs, ys).statistic)


__all__ = ["Estimate", "HeuristicError", "RegionEstimator", "TensorStats", "evaluate", "parse_order", "spearman"]
