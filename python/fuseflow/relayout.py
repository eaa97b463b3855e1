"""Relayouts: where a program reads a dense value in another level order than it is stored in.

A dense level is random access, so a graph may read a dense tensor in any level order (a
layout, SAM_SEMANTICS.md 4.12). What it costs depends on where the value comes from:

- a constant (a weight), a lifted sparse weight (an argument ``sparse=`` names), or a reshape or
  slice of one, is laid out offline: free;
- a runtime input arrives in the level order its type declares, and an intermediate in the
  order its producer's graph wrote it (its result type: levels in the producer's dataflow
  order); reading either in another order is a relayout: the tensor is read and written once
  through the memory model (``HardwareConfig.relayout_cycles``), a line of its own in the
  program's cycle report (``ProgramResult.relayouts``);
- the runner's reshapes and slices keep a value's layout where they only add or drop unit
  dimensions (or slice); a real reshape of a value not stored row-major relays it out first (a
  sparse value is reshaped only to drop its unit dimensions before a graph reads it,
  ``drop_unit_levels``: its level order is kept);
- the program's results are handed back in their declared order (a relayout if written in
  another).

A dense value read as B x B tiles (a region with a block-sparse input tiles its dense operands,
docs/lowering.md "Sparsity blocking") has the layout ``("tiled", B, block dims...)``: tiling a
runtime input or an intermediate written untiled (and untiling a tiled result) is a relayout of
its elements like any other; a block-sparse (BSR) value itself is not tracked (it arrives as the
user made it).

Only the order of the dimensions larger than 1 matters (a unit dimension has one position).
A sparse value's layout is its level order with each level's kind: reading a runtime CSR input
or a sparse intermediate as CSC (``layouts="auto"`` frees sparse inputs too) is a sparse
relayout, a transpose of its stored entries: ``sparse_words`` words read and written (each stored
entry's value and coordinates, and the positions of its outer level), counted on the value the
program holds when it runs. Converting between dense and sparse, or between sparse formats in one
level order (CSR to DCSR), is not charged; nor is reading a sparse value without its unit
dimensions, which keeps the level order of the others (an ``n x 1`` CSR read as the sparse vector of
its non-empty rows is such a conversion, like CSR to DCSR).

``program_relayouts`` lists the relayouts of a lowered program; ``arrival`` traces one value
back to where its layout is decided (the compiler's order choice uses it before lowering, with
the producers' written orders from their chosen dataflow orders).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from fuseflow.bindings import ir, op_name
from fuseflow.dialects.sam_types import block_layout
from fuseflow.passes.lowering import RUNNER_RESHAPES, level_dims

FREE = "free"  # laid out offline in whatever order a graph reads it
# storage order of the non-unit dims (dense: dims; sparse: (dim, level kind) pairs), FREE, or None
# (untracked)
Layout = tuple | str | None
_PASS_THROUGH = {"arith.extf", "arith.truncf", "sparse_tensor.convert"}


@dataclass(frozen=True)
class Relayout:
    """One relayout: ``name`` (``"<graph> arg<n>"``, ``"before <op>"`` or ``"result <n>"``)
    and the tensor's element count; a sparse one (``sparse_levels`` > 0: its stored levels) is
    costed on ``value``'s stored entries when the program runs (``sparse_words``)."""

    name: str
    elements: int
    sparse_levels: int = 0
    value: object = field(default=None, compare=False, repr=False)


def stored_order(t: ir.Type) -> Layout:
    """The storage order of ``t``'s non-unit dimensions (with each level's kind for a sparse
    type); None for a block-sparse one."""
    from fuseflow.dialects.sam import tensor_level_formats
    from fuseflow.passes.lowering import has_sparse_level

    rt = ir.RankedTensorType(t)
    dims = level_dims(t)
    if dims is None:
        blocked = block_layout(t)
        return None if blocked is None or has_sparse_level(t) else tiled(blocked.size, blocked.dims)
    if has_sparse_level(t):
        kinds = [str(f) for f in tensor_level_formats(t)]
        return tuple((d, k) for d, k in zip(dims, kinds, strict=True) if rt.shape[d] != 1)
    return tuple(d for d in dims if rt.shape[d] != 1)


def tiled(block: int, dims) -> tuple:
    """The layout of a dense value stored as ``block`` x ``block`` tiles, blocks over ``dims``."""
    return ("tiled", block, *dims)


def is_tiled(layout: Layout) -> bool:
    return isinstance(layout, tuple) and bool(layout) and layout[0] == "tiled"


def is_sparse(layout: Layout) -> bool:
    return isinstance(layout, tuple) and bool(layout) and isinstance(layout[0], tuple)


def stored_levels(layout: Layout) -> int:
    """Levels of a sparse layout that store coordinates (0 for a dense one)."""
    return sum(k != "dense" for _, k in layout) if is_sparse(layout) else 0


def sparse_words(array, stored: int) -> int:
    """Words a sparse relayout of ``array`` (the dense values the program holds; its non-zeros
    are the stored entries) reads and writes: per stored entry its value and ``stored``
    coordinates, and the positions of the outer level (its dimension + 1)."""
    import numpy as np

    a = np.asarray(array)
    return int(np.count_nonzero(a)) * (1 + stored) + (a.shape[0] + 1 if a.ndim else 0)


def elements(t: ir.Type) -> int:
    return math.prod(ir.RankedTensorType(t).shape)


def _row_major(order: Layout) -> bool:
    return isinstance(order, tuple) and list(order) == sorted(order)


def arrival(v: ir.Value, produced: Callable[[ir.Value], Layout], charges: dict) -> Layout:
    """The layout ``v`` arrives in: traced through casts, conversions, reshapes and slices to a
    function argument, a constant or a value ``produced`` knows (a region's result: the order
    its graph wrote; a lifted weight argument: FREE; None for any other value). A reshape that must relay
    its operand out adds to ``charges`` (key -> ``Relayout``)."""
    got = produced(v)
    if got is not None:
        return got
    if isinstance(v, ir.BlockArgument):
        return stored_order(v.type)
    owner = v.owner
    name = op_name(owner)
    if name == "arith.constant":
        return FREE
    if name in _PASS_THROUGH:
        src = arrival(owner.operands[0], produced, charges)
        return src if stored_order(v.type) is not None else None
    if name in RUNNER_RESHAPES:
        source = owner.operands[0]
        src = arrival(source, produced, charges)
        if src is None or src == FREE:
            return src
        out_shape = ir.RankedTensorType(v.type).shape
        out_dims = [d for d, n in enumerate(out_shape) if n != 1]
        if is_tiled(src):  # the runner reshapes row-major values: untiled first
            charges.setdefault((source, "row-major"), Relayout(f"before {name} at {owner.location}", elements(source.type)))
            return tuple(out_dims)
        if is_sparse(src):  # a sparse value keeps its layout where only unit dimensions change
            in_dims = sorted(d for d, _ in src)
            in_sizes = [ir.RankedTensorType(source.type).shape[d] for d in in_dims]
            if name == "tensor.extract_slice" or in_sizes != [out_shape[d] for d in out_dims]:
                return None
            return tuple((out_dims[in_dims.index(d)], k) for d, k in src)
        in_dims = sorted(src)
        in_sizes = [ir.RankedTensorType(source.type).shape[d] for d in in_dims]
        if name == "tensor.extract_slice" and len(out_shape) == ir.RankedTensorType(source.type).rank:
            return tuple(d for d in src if out_shape[d] != 1)
        if in_sizes == [out_shape[d] for d in out_dims]:  # only unit dimensions added or dropped
            return tuple(out_dims[in_dims.index(d)] for d in src)
        if not _row_major(src):
            key = (source, "row-major")
            charges.setdefault(key, Relayout(f"before {name} at {owner.location}", elements(source.type)))
        return tuple(out_dims)
    return None


def program_relayouts(entry, weights=()) -> list[Relayout]:
    """The relayouts of a lowered program (``convert-linalg-to-sam``'s program function);
    ``weights``: its arguments that are lifted weights (laid out offline, like constants)."""
    block = entry.regions[0].blocks[0]
    written: dict = dict.fromkeys(weights, FREE)  # call result -> the order its graph wrote it in

    def produced(v: ir.Value) -> Layout:
        return written.get(v)

    charges: dict = {}
    for op in block.operations:
        name = op_name(op)
        if name == "func.call":
            # a call's operand and result types are its graph's: the orders it reads and writes
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            for n, v in enumerate(op.operands):
                _charge(v, stored_order(v.type), f"{callee} arg{n}", produced, charges)
            for r in op.results:
                written[r] = stored_order(r.type)
        elif name == "func.return":
            for n, v in enumerate(op.operands):
                _charge(v, stored_order(v.type), f"result {n}", produced, charges)
    return list(charges.values())


def _charge(v, need: Layout, name: str, produced, charges: dict) -> None:
    """Charge a relayout of ``v`` when it arrives in another order than ``need`` (dense to dense,
    or sparse to sparse with other level orders)."""
    if not isinstance(need, tuple):
        return
    have = arrival(v, produced, charges)
    if not isinstance(have, tuple) or is_sparse(have) != is_sparse(need):
        return
    if is_sparse(need) and [d for d, _ in have] == [d for d, _ in need]:
        return  # same level order, other level kinds: a format conversion
    if have != need:
        charges.setdefault((source(v), need), Relayout(name, elements(v.type), stored_levels(need), source(v)))


def source(v: ir.Value) -> ir.Value:
    """``v`` without the conversions in front of it (one relayout serves every reader wanting
    the same order)."""
    while isinstance(v, ir.OpResult) and op_name(v.owner) in _PASS_THROUGH:
        v = v.owner.operands[0]
    return v


def written_order(out, order: list[str], block: int = 0) -> Layout:
    """The order a region's graph writes output ``out`` in, in dataflow ``order``: its levels
    follow the order (None for a format with a sparse level); ``block``: the region's tile size
    (its results are written as tiles)."""
    t = out.value.type
    if not block and (stored_order(t) is None or is_sparse(stored_order(t))):
        return stored_order(t)  # a sparse result is written in its type's level order
    shape = ir.RankedTensorType(t).shape
    pos = {v: n for n, v in enumerate(order)}
    dims = tuple(sorted((d for d, v in enumerate(out.vars) if v in pos and shape[d] != 1), key=lambda d: pos[out.vars[d]]))
    return tiled(block, dims) if block else dims


def region_relayouts(region, order: list[str], written: dict, stored: Callable[[int], int] | None = None) -> int:
    """Words a region relays out in ``order`` (before lowering: the compiler's order choice):
    its inputs read in another order than they arrive in (``written``: earlier regions' results
    -> the order their chosen orders write them in), and its results the function returns
    written in another order than declared. A dense relayout counts its elements; a sparse one
    ``stored(n)`` for input ``n`` (its ``sparse_words``, from the data), else its elements."""
    charges: dict = {}
    for n, v in enumerate(region.inputs):
        before = len(charges)
        _charge(v, stored_order(region.input_type(n, order)), f"input {n}", written.get, charges)
        if len(charges) > before and stored is not None:
            key = list(charges)[-1]
            if charges[key].sparse_levels:
                charges[key] = Relayout(charges[key].name, stored(n), charges[key].sparse_levels)
    mine = {out.value: written_order(out, order) for out in region.outputs}
    for out in region.outputs:
        if any(op_name(u.owner) == "func.return" for u in out.value.uses):
            _charge(out.value, stored_order(out.value.type), "result", mine.get, charges)
    return sum(c.elements for c in charges.values())
