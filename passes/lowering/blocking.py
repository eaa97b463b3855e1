"""Sparsity blocking (SAM_SEMANTICS.md section 5): a region that reads a block-sparse input runs on
streams of B x B tiles.

A blocked (BSR/BSC) input stores its block coordinates in its first levels and each B x B block
densely in its in-block levels. A region that reads one is lowered over *block* coordinates: every
index variable ranges over blocks of B (but the *batch* loops, ``batch_vars``: the heads of
multi-head attention, plain levels), the block levels are scanned like any dense or compressed
level, and every value token is a tile whose axes are the in-block coordinates of two of the
region's variables. The dense operands that meet a blocked one are tiled the same way (their
levels split into block and in-block levels: ``tiled_type``); a vector (a bias) is read as tiles
whose rows all hold its B-vector. Values then compose as tiles (``Tiling``):

- an elementwise op works on tiles with the same axes (a row-vector tile broadcasts down the rows;
  an operand over the reversed axes is transposed first);
- a product summed over a variable both factors index (a contraction) is a tile product
  (``matmul`` and its transposed forms, ``Tiling.product``) summed across blocks by the
  reduction or sparse accumulator that sums scalars in the unblocked graph;
- any other reduction reduces each tile along the variable first (``row_sum``, ``col_max``, ...:
  ``Tiling.in_tile``), then the tiles across blocks.

What has no tile form is refused with ``BlockingError`` naming the input or the op: a reduction
of a vector, a scalar or size-1 operand, more than two tiled dimensions, a block size that does
not divide a dimension, blocks that are not square, or inputs blocked with different sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fuseflow.bindings import ir
from fuseflow.dialects.sam_types import block_layout
from fuseflow.errors import BlockingError
from fuseflow.passes.ir_utils import value_name
from fuseflow.passes.lowering.expr import UNIT, Expr, Leaf, Map, Reduce, leaves, show

# matmul kind by (first operand transposed, second operand transposed)
_PRODUCTS = {(False, False): "matmul", (False, True): "matmul_nt", (True, False): "matmul_tn",
             (True, True): "matmul_tt"}


def _block_map(rank: int, size: int, dims: list[int], formats: list[str], batch) -> str:
    """The level map of a tensor tiled in ``size`` blocks: outer levels over ``dims`` (a batch
    dimension plain), then the in-block levels of the blocked dimensions in dimension order."""
    names = ", ".join(f"d{d}" for d in range(rank))
    lvls = [f"d{d} : {f}" if d in batch else f"d{d} floordiv {size} : {f}" for d, f in zip(dims, formats, strict=True)]
    lvls += [f"d{d} mod {size} : dense" for d in range(rank) if d not in batch]
    return f"#sparse_tensor.encoding<{{ map = ({names}) -> ({', '.join(lvls)}) }}>"


def tiled_type(t: ir.Type, size: int, dims: list[int], batch: tuple[int, ...] = ()) -> ir.Type:
    """Dense type ``t`` tiled in ``size`` blocks over every dimension but the ``batch`` ones:
    dense outer levels over ``dims`` (outermost first), then the in-block levels (the tile's axes)."""
    rt = ir.RankedTensorType(t)
    enc = ir.Attribute.parse(_block_map(rt.rank, size, dims, ["dense"] * rt.rank, batch), t.context)
    return ir.RankedTensorType.get(rt.shape, rt.element_type, enc, loc=ir.Location.unknown(t.context))


def tiled_output_type(like: ir.Type, size: int, dims: list[int], formats: list[str], elem: ir.Type,
                      batch: tuple[int, ...] = ()) -> ir.Type:
    """A blocked result: outer levels over ``dims`` with ``formats``, dense in-block levels."""
    rt = ir.RankedTensorType(like)
    return ir.RankedTensorType.get(rt.shape, elem, ir.Attribute.parse(_block_map(rt.rank, size, dims, formats, batch)))


def _name(v: ir.Value, n: int) -> str:
    """A region input as a user reads it: ``%argN`` or the op producing it, and its type."""
    return f"{value_name(v)} ({v.type})"


# The region variables of a tile's (row, column) axes; None where the tile is constant along the
# axis (a row vector (None, j): a bias read as tiles; a column vector (i, None): a row statistic).
Axes = tuple


@dataclass
class Tiling:
    """How a blocked region's values are tiles: the block size, each node's tile axes and the
    tile product each contraction uses (computed once per region from its outputs)."""

    region_name: str
    size: int
    inputs: list[ir.Value]
    prefer: list[tuple[str, str]]  # the outputs' (row, column) variables: products follow them
    batch: set[str] = field(default_factory=set)  # variables that are plain loops, not tile axes
    batch_dims: dict[int, tuple[int, ...]] = field(default_factory=dict)  # input -> its batch dimensions
    axes: dict[Expr, Axes] = field(default_factory=dict)
    products: dict[Map, tuple[str, bool]] = field(default_factory=dict)  # Map -> (kind, operands swapped)
    reductions: dict[Reduce, str] = field(default_factory=dict)  # Reduce -> its in-tile reduction kind
    transposes: set[tuple[Map, int]] = field(default_factory=set)  # (Map, operand) read transposed
    out_transposes: set[int] = field(default_factory=set)  # outputs whose tiles are transposed to be written

    def _name(self, n: int) -> str:
        return _name(self.inputs[n], n)

    def _refuse(self, what: str) -> BlockingError:
        return BlockingError(f"{self.region_name}: blocked region (B = {self.size}): {what}")

    def tile_axes(self, e: Expr, under: str | None = None) -> Axes:
        """The axes of ``e``'s tiles; ``under``: the variable of the sum ``e`` is directly
        under (a product there is a contraction)."""
        key = (e, under)
        got = self.axes.get(key)
        if got is None:
            got = self.axes[key] = self._axes(e, under)
            if isinstance(e, Map) and e in self.products and (e, None) in self.axes:
                # the graph computes one value per expression: it cannot be a tile product here
                # and an elementwise product elsewhere
                raise self._refuse(f"{show(e)} is both summed as a tile product and used elementwise")
        return got

    def _axes(self, e: Expr, under: str | None) -> Axes:
        if isinstance(e, Leaf):
            return self._leaf_axes(e)
        if isinstance(e, Reduce):
            if e.kind == "add" and isinstance(e.arg, Map) and e.arg.kind == "mul" and e.arg.scalar is None and \
                    len(e.arg.args) == 2 and all(e.var in self.tile_axes(a) for a in e.arg.args):
                return self.tile_axes(e.arg, e.var)  # a contraction: a tile product
            return self._in_tile_reduction(e)
        if under is not None and e.kind == "mul":
            return self._product(e, under)
        return self._elementwise(e, [self.tile_axes(a) for a in e.args])

    def _elementwise(self, e: Map, args: list[Axes]) -> Axes:
        """Operands over the same axes; one over the reversed axes is transposed first, a
        vector on the other axis too (a row vector becomes a column vector)."""
        target = next((a for a in args if None not in a), args[0])
        for k, a in enumerate(args):
            merged = _place(a, target)
            if merged is None:
                merged = _place(a[::-1], target)
                if merged is None:
                    raise self._refuse(f"{show(e)} combines tiles over different axes {sorted(map(str, args))}")
                self.transposes.add((e, k))
            target = merged
        return target

    def _in_tile_reduction(self, e: Reduce) -> Axes:
        """A reduction that is not a contraction: each tile reduced along ``e.var`` (a row or
        column statistic, kept as a tile broadcast along that axis), then across blocks."""
        a = self.tile_axes(e.arg)
        if None in a or e.var not in a:
            raise self._refuse(f"{show(e)} reduces over {e.var}, which is not an axis of the matrix tiles "
                               f"{a} of its operand; only matrix tiles are reduced")
        along = "row" if a[1] == e.var else "col"
        self.reductions[e] = f"{along}_{'sum' if e.kind == 'add' else e.kind}"
        return (a[0], None) if along == "row" else (None, a[1])

    def _leaf_axes(self, e: Leaf) -> Axes:
        if UNIT in e.vars or not e.vars:
            raise self._refuse(f"input {self._name(e.tensor)} has a size-1 or no dimension; "
                               "only vectors and matrices (besides batch dimensions) are tiled")
        axes = tuple(v for v in e.vars if v not in self.batch)
        if not 1 <= len(axes) <= 2:
            raise self._refuse(f"input {self._name(e.tensor)} is read over {len(axes)} tiled dimensions "
                               f"({', '.join(e.vars)}; batch loops: {', '.join(sorted(self.batch)) or 'none'}); "
                               "only vectors and matrices are tiled")
        if len(set(e.vars)) != len(e.vars):
            raise self._refuse(f"input {self._name(e.tensor)} is read on its diagonal")
        dims = tuple(d for d, v in enumerate(e.vars) if v in self.batch)
        bl = block_layout(self.inputs[e.tensor].type)
        if bl is not None and bl.batch != dims:
            raise self._refuse(f"input {self._name(e.tensor)} is blocked over its dimensions but {bl.batch}, "
                               f"read with batch loops over {dims}")
        if self.batch_dims.setdefault(e.tensor, dims) != dims:
            raise self._refuse(f"input {self._name(e.tensor)} is read with batch dimensions {self.batch_dims[e.tensor]} "
                               f"and {dims}")
        shape = ir.RankedTensorType(self.inputs[e.tensor].type).shape
        bad = [(d, n) for d, n in enumerate(shape) if d not in dims and n % self.size]
        if bad:
            raise BlockingError(f"{self.region_name}: block size {self.size} does not divide dimension {bad[0][0]} "
                                f"(size {bad[0][1]}) of input {self._name(e.tensor)}")
        return axes if len(axes) == 2 else (None, axes[0])

    def _product(self, e: Map, v: str) -> Axes:
        """A product summed over ``v``, which both factors' tiles have as an axis: their tile
        product (a vector factor is a 1 x B or B x 1 matrix)."""
        a, b = (self.tile_axes(x) for x in e.args)
        p = a[0] if a[1] == v else a[1]
        q = b[0] if b[1] == v else b[1]
        if p is not None and p == q:
            raise self._refuse(f"{show(e)} summed over {v} multiplies tiles over the same axes {a}")
        swap = (q, p) in self.prefer and (p, q) not in self.prefer
        if swap:
            a, b, p, q = b, a, q, p
        self.products[e] = (_PRODUCTS[(a[0] == v, b[1] == v)], swap)
        return (p, q)

    def transposed(self, e: Map, k: int) -> bool:
        """Whether operand ``k`` of elementwise ``e`` is transposed first."""
        return (e, k) in self.transposes

    def in_tile(self, e: Reduce) -> str | None:
        """The in-tile reduction (``row_sum``, ``col_max``, ...) applied to each tile of ``e``'s
        operand before the tiles are reduced across blocks (None: ``e`` is a contraction)."""
        return self.reductions.get(e)

    def product(self, e: Map) -> tuple[str, bool] | None:
        """The tile product kind of contraction ``e`` and whether its operands are swapped
        (None: ``e`` is elementwise)."""
        return self.products.get(e)


def _place(a: Axes, target: Axes) -> Axes | None:
    """``target`` with ``a``'s axes filled in, or None where they conflict."""
    if any(x is not None and t is not None and x != t for x, t in zip(a, target, strict=True)):
        return None
    merged = tuple(x if x is not None else t for x, t in zip(a, target, strict=True))
    return None if merged[0] is not None and merged[0] == merged[1] else merged


def region_block(name: str, inputs: list[ir.Value]) -> int:
    """The block size of a region reading ``inputs`` (0: none is blocked): one square size for
    every blocked input."""
    sizes = {}
    for n, v in enumerate(inputs):
        try:
            bl = block_layout(v.type)
        except ValueError as e:
            raise BlockingError(f"{name}: input {_name(v, n)}: {e}; only square blocks are tiled") from None
        if bl is not None:
            sizes[n] = bl.size
    if len(set(sizes.values())) > 1:
        raise BlockingError(f"{name}: inputs are blocked with different sizes "
                            f"({', '.join(f'{_name(inputs[n], n)}: {b}' for n, b in sizes.items())})")
    return next(iter(sizes.values()), 0)


def batch_vars(inputs: list[ir.Value], outputs) -> set[str]:
    """The variables a blocked region runs as plain loops: those every operand of rank 3 or more
    and every result index (the heads of multi-head attention) and no block-sparse input does."""
    reads = [leaf for o in outputs for leaf in leaves(o.expr)]
    high = [set(leaf.vars) - {UNIT} for leaf in reads if len(set(leaf.vars) - {UNIT}) >= 3]
    if not high:
        return set()
    blocked = set()  # the variables of block-sparse inputs' blocked dimensions
    for leaf in reads:
        bl = block_layout(inputs[leaf.tensor].type)
        if bl is not None:
            blocked |= {v for d, v in enumerate(leaf.vars) if d not in bl.batch}
    return set.intersection(*high, *(set(o.vars) for o in outputs)) - blocked


def tiling(name: str, size: int, inputs: list[ir.Value], outputs) -> Tiling:
    """The tile axes of every node of a blocked region's outputs (refusing what has no tile form)."""
    batch = batch_vars(inputs, outputs)
    prefer = [axes for o in outputs if len(axes := tuple(v for v in o.vars if v not in batch)) == 2]
    t = Tiling(name, size, inputs, prefer, batch)
    for n, o in enumerate(outputs):
        ovars = tuple(v for v in o.vars if v not in batch)
        if not 1 <= len(ovars) <= 2 or UNIT in o.vars:
            raise t._refuse(f"result of shape {list(ir.RankedTensorType(o.value.type).shape)} is not a vector "
                            "or a matrix (besides batch dimensions); only those are written as tiles")
        axes = t.tile_axes(o.expr)
        if len(ovars) == 1:  # a vector result: its tiles may hold it along either axis
            if ovars[0] not in axes or None not in axes:
                raise t._refuse(f"vector result {show(o.expr)} is computed as tiles over {axes}")
        elif axes == ovars[::-1]:
            t.out_transposes.add(n)
        elif axes != ovars:
            raise t._refuse(f"result {show(o.expr)} is computed as tiles over {axes}, "
                            f"not over its dimensions {ovars}")
    return t
