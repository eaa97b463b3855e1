"""Pack tensors into the flat buffers of a storage format, and unpack them again.

The buffer order is MLIR's ``sparse-assembler`` order: for each level, outermost first, its
positions array (compressed levels) then its coordinates array (compressed and singleton
levels); the values array last. For CSR that is ``[pos1, crd1, values]``; for COO
``[pos0, crd0, crd1, values]`` (pos0 is ``[0, nnz]``); for BSR ``[pos1, crd1, values]`` with
each stored block's values row-major.

Which entries are stored: the non-zeros (for block formats, every entry of a block that holds a
non-zero), plus the zeros that dense levels imply. ``pack`` accepts a numpy array, a torch
tensor (dense or sparse) or a scipy sparse matrix.
"""

from __future__ import annotations

import numpy as np

from fuseflow.frontend.formats import (
    COMPRESSED,
    COMPRESSED_NU,
    DENSE,
    HAS_CRD,
    HAS_POS,
    Format,
    FormatError,
    parse_format,
)
from fuseflow.program import to_numpy


def _level_coords(fmt: Format, idx: np.ndarray) -> np.ndarray:
    """Map tensor coordinates (n x rank) to level coordinates (n x levels)."""
    cols = []
    for lv in fmt.levels_for(idx.shape[1]):
        c = idx[:, lv.dim]
        if lv.block:
            c = c % lv.block if lv.offset else c // lv.block
        cols.append(c)
    return np.stack(cols, axis=1) if cols else np.zeros((len(idx), 0), np.int64)


def stored_entries(dense: np.ndarray, fmt: Format) -> np.ndarray:
    """Coordinates (n x rank) of the entries ``fmt`` stores explicitly, besides dense padding."""
    nz = dense != 0
    blocks = fmt.dim_blocks(dense.ndim) if dense.ndim and not fmt.is_dense else ()
    if any(b > 1 for b in blocks):
        split = [x for s, b in zip(dense.shape, blocks, strict=True) for x in (s // b, b)]
        any_nz = nz.reshape(split).any(axis=tuple(range(1, 2 * dense.ndim, 2)))
        for axis, b in enumerate(blocks):
            any_nz = np.repeat(any_nz, b, axis=axis)
        nz = any_nz
    return np.argwhere(nz).astype(np.int64)


def pack(x, fmt: Format | str, dtype=np.float32) -> list[np.ndarray]:
    """The flat buffers of ``x`` stored in ``fmt`` (sparse-assembler order)."""
    fmt = parse_format(fmt)
    dense = np.asarray(to_numpy(x), dtype=dtype)
    fmt.validate(dense.shape)
    if fmt.is_dense:
        return [np.ascontiguousarray(dense)]
    levels = fmt.levels_for(dense.ndim)
    sizes = fmt.level_sizes(dense.shape)
    idx = stored_entries(dense, fmt)
    lc = _level_coords(fmt, idx)
    order = np.lexsort(lc.T[::-1]) if len(lc) else np.arange(0)
    lc, idx = lc[order], idx[order]
    # A node is a run [lo, hi) of sorted entries sharing a prefix of level coordinates, or an
    # empty run at a dense coordinate that stores no entry (hi == lo).
    nodes = [(0, len(lc))]
    buffers: list[np.ndarray] = []
    for k, lv in enumerate(levels):
        new_nodes: list[tuple[int, int]] = []
        pos = [0]
        crd: list[int] = []
        for lo, hi in nodes:
            col = lc[lo:hi, k]
            if lv.kind == DENSE:
                bounds = np.searchsorted(col, np.arange(sizes[k] + 1))
                new_nodes.extend((lo + int(bounds[c]), lo + int(bounds[c + 1])) for c in range(sizes[k]))
                continue
            if lv.kind == COMPRESSED:
                uniq, starts = np.unique(col, return_index=True)
                ends = list(starts[1:]) + [len(col)] if len(starts) else []
                crd.extend(int(u) for u in uniq)
                new_nodes.extend((lo + int(s), lo + int(e)) for s, e in zip(starts, ends, strict=True))
            else:  # non-unique or singleton: one node per entry
                crd.extend(int(c) for c in col)
                new_nodes.extend((lo + i, lo + i + 1) for i in range(hi - lo))
            pos.append(len(crd))
        if lv.kind in HAS_POS:
            buffers.append(np.asarray(pos, np.int64))
        if lv.kind in HAS_CRD:
            buffers.append(np.asarray(crd, np.int64))
        nodes = new_nodes
    values = np.zeros(len(nodes), dtype)
    for n, (lo, hi) in enumerate(nodes):
        if hi > lo:
            values[n] = dense[tuple(idx[lo])]
    buffers.append(values)
    return buffers


def unpack(buffers: list[np.ndarray], fmt: Format | str, shape: tuple[int, ...],
           dtype=np.float32) -> np.ndarray:
    """The dense array that ``buffers`` (sparse-assembler order) store in ``fmt``.

    Buffers may be longer than their used part (the sparsifier over-allocates); only the prefix
    that the positions arrays address is read.
    """
    fmt = parse_format(fmt)
    shape = tuple(int(s) for s in shape)
    if fmt.is_dense:
        return np.asarray(buffers[0], dtype).reshape(shape)
    levels = fmt.levels_for(len(shape))
    sizes = fmt.level_sizes(shape)
    expected = sum((lv.kind in HAS_POS) + (lv.kind in HAS_CRD) for lv in levels) + 1
    if len(buffers) != expected:
        raise FormatError(f"format '{fmt}' has {expected} buffers, got {len(buffers)}")
    it = iter(buffers)
    # Each node: the level coordinates so far; nodes are listed in storage order.
    nodes: list[tuple[int, ...]] = [()]
    for k, lv in enumerate(levels):
        pos = np.asarray(next(it)) if lv.kind in HAS_POS else None
        crd = np.asarray(next(it)) if lv.kind in HAS_CRD else None
        new_nodes: list[tuple[int, ...]] = []
        if lv.kind == DENSE:
            new_nodes = [p + (c,) for p in nodes for c in range(sizes[k])]
        elif lv.kind in (COMPRESSED, COMPRESSED_NU):
            for i, p in enumerate(nodes):
                new_nodes.extend(p + (int(c),) for c in crd[int(pos[i]):int(pos[i + 1])])
        else:  # singleton: one coordinate per parent node
            new_nodes = [p + (int(crd[i]),) for i, p in enumerate(nodes)]
        nodes = new_nodes
    values = np.asarray(next(it))
    out = np.zeros(shape, dtype)
    for n, lc in enumerate(nodes):
        coord = [0] * len(shape)
        for lv, c in zip(levels, lc, strict=True):
            if lv.block:
                coord[lv.dim] += c if lv.offset else c * lv.block
            else:
                coord[lv.dim] = c
        out[tuple(coord)] += values[n]
    return out
