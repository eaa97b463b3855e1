"""Tensors as SAM level arrays: conversion from and to numpy, scipy and torch.

A tensor of rank r is stored as r levels in a mode order (level l indexes dimension
``order[l]``). Level formats, one letter each:

- ``"d"`` dense: ``dim`` children per parent position;
- ``"c"`` compressed: ``seg``/``crd`` arrays, children of parent p at ``seg[p]..seg[p+1]``,
  coordinates unique and sorted within a fiber;
- ``"n"`` compressed(nonunique): like ``"c"``, but a fiber may repeat a coordinate (sorted, the
  repeats adjacent); ``run_end[p]`` is the end of the run of equal coordinates holding p;
- ``"s"`` singleton: exactly one child per parent position, ``crd[p]`` at position p (COO);
  ``span_end[p]`` is the end of the parent's run of duplicates starting at p (p + 1 under a
  unique parent), so a parent reference p owns the positions ``p..span_end[p]``;
- ``"t"`` singleton(nonunique): a singleton level that itself repeats coordinates (the middle
  levels of a rank >= 3 COO tensor); has both ``span_end`` and ``run_end``.

``vals`` holds one value per position of the last level, or one B x B tile per position for a
blocked tensor (whose levels then index block coordinates).

Example: CSR ``[[1, 0, 2], [0, 0, 0], [0, 3, 0]]`` with format ``"dc"`` is level 0 dense
(dim 3), level 1 compressed ``seg=[0, 2, 2, 3]``, ``crd=[0, 2, 1]``, ``vals=[1, 2, 3]``. In COO
(``"ns"``) it is level 0 ``seg=[0, 3]``, ``crd=[0, 0, 2]``, ``run_end=[2, 2, 3]``, level 1
``crd=[0, 2, 1]``, ``span_end=[2, 2, 3]``, ``vals=[1, 2, 3]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from fuseflow.errors import FuseflowError


@dataclass
class Level:
    format: str  # "d", "c", "n", "s" or "t" (see the module docstring)
    dim: int
    seg: np.ndarray | None = None  # int64, compressed levels ("c", "n")
    crd: np.ndarray | None = None  # int64, every level but dense
    run_end: np.ndarray | None = None  # int64, nonunique levels ("n", "t")
    span_end: np.ndarray | None = None  # int64, singleton levels ("s", "t")

    @property
    def singleton(self) -> bool:
        return self.format in ("s", "t")

    @property
    def unique(self) -> bool:
        return self.format not in ("n", "t")


LEVEL_FORMATS = "dcnst"


@dataclass
class TensorData:
    """A tensor bound to a graph: shape, per-level arrays, values."""

    name: str
    shape: tuple[int, ...]
    order: tuple[int, ...]
    levels: list[Level]
    vals: np.ndarray
    block: int = 0
    batch: tuple[int, ...] = ()  # dimensions of a blocked tensor that are not blocked (plain levels)

    @property
    def format(self) -> str:
        return "".join(lv.format for lv in self.levels)

    def to_dense(self) -> np.ndarray:
        return levels_to_dense(self.levels, self.vals, self.shape, self.order, self.block, self.batch)


def _check_real(name: str, value) -> None:
    """``FuseflowError`` naming the tensor and its dtype unless it holds real numbers (bool,
    integer or float: complex values and strings are refused, never silently cast)."""
    if type(value).__module__.startswith("torch"):
        bad = value.is_complex()
        dtype = value.dtype
    else:
        dtype = value.dtype if sp.issparse(value) else np.asarray(value).dtype
        bad = dtype.kind not in "biuf"
    if bad:
        raise FuseflowError(f"tensor {name!r}: dtype {dtype} is not supported (real numbers: bool, integer or float)")


def _as_coo(value) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(coords [rank, nnz], vals [nnz], shape) of a numpy/scipy/torch tensor."""
    if type(value).__module__.startswith("torch"):  # import torch (slow) only for torch values
        import torch
    else:
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        if t.layout == torch.sparse_csr and t.dim() == 2:
            value = sp.csr_matrix((t.values().double().numpy(), t.col_indices().numpy(), t.crow_indices().numpy()), shape=tuple(t.shape))
        elif t.layout == torch.sparse_coo:
            t = t.coalesce()
            return t.indices().numpy().astype(np.int64), t.values().double().numpy(), tuple(t.shape)
        else:
            value = (t.to_dense() if t.layout != torch.strided else t).double().numpy()
    if sp.issparse(value):
        m = sp.coo_matrix(value)
        m.sum_duplicates()
        return (np.vstack([m.row, m.col]).astype(np.int64), np.asarray(m.data, np.float64), m.shape)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:  # a scalar: one value at the root position
        return np.zeros((0, 1), np.int64), arr.reshape(1), ()
    nz = np.nonzero(arr)
    return np.vstack(nz).astype(np.int64).reshape(arr.ndim, -1), arr[nz], arr.shape


def from_coo(name, coords, vals, shape, fmt: str, order=None) -> TensorData:
    """Build level arrays from COO coordinates (rank x nnz) in the given format and mode order."""
    rank = len(shape)
    order = tuple(range(rank)) if order is None else tuple(order)
    if len(fmt) != rank or sorted(order) != list(range(rank)):
        raise FuseflowError(f"tensor {name!r}: format {fmt!r} / order {order} do not fit rank {rank}")
    vals = np.asarray(vals)
    coords = np.asarray(coords, np.int64).reshape(rank, len(vals))
    pc = coords[list(order)] if rank else coords
    if rank and pc.shape[1]:
        perm = np.lexsort(pc[::-1])
        pc, vals = pc[:, perm], vals[perm]
        if set(fmt) & set("nst"):  # positions are per entry there: sum duplicate entries first
            first = np.ones(pc.shape[1], bool)
            first[1:] = np.any(pc[:, 1:] != pc[:, :-1], axis=0)
            summed = np.zeros((int(first.sum()), *vals.shape[1:]), np.float64)
            np.add.at(summed, np.cumsum(first) - 1, vals)
            pc, vals = pc[:, first], summed
    parent = np.zeros(pc.shape[1], np.int64)
    nparents = 1
    levels: list[Level] = []
    parent_end = None  # per parent position: end of its run of duplicates (nonunique parents)
    for lv in range(rank):
        dim = int(shape[order[lv]])
        c = pc[lv]
        f = fmt[lv]
        if f not in LEVEL_FORMATS:
            raise FuseflowError(f"tensor {name!r}: unknown level format {f!r} (use one of d, c, n, s, t)")
        if f == "d":
            parent = parent * dim + c
            nparents *= dim
            levels.append(Level("d", dim))
            parent_end = None
            continue
        if f in ("s", "t"):
            if c.size != nparents or (c.size and np.any(parent != np.arange(c.size))):
                raise FuseflowError(f"tensor {name!r}: singleton level {lv} needs exactly one entry per position of level {lv - 1}")
            span = np.arange(1, c.size + 1, dtype=np.int64) if parent_end is None else parent_end
            level = Level(f, dim, None, c.astype(np.int64), span_end=span)
            # positions stay those of the parent level
        elif f == "c":
            if c.size:
                new = np.ones(c.size, bool)
                new[1:] = (parent[1:] != parent[:-1]) | (c[1:] != c[:-1])
            else:
                new = np.zeros(0, bool)
            crd = c[new]
            seg = np.zeros(nparents + 1, np.int64)
            np.cumsum(np.bincount(parent[new], minlength=nparents), out=seg[1:])
            parent = np.cumsum(new) - 1
            nparents = int(crd.size)
            levels.append(Level("c", dim, seg, crd.astype(np.int64)))
            parent_end = None
            continue
        else:  # "n": one position per entry
            seg = np.zeros(nparents + 1, np.int64)
            np.cumsum(np.bincount(parent, minlength=nparents), out=seg[1:])
            level = Level("n", dim, seg, c.astype(np.int64))
        if f in ("n", "t"):
            # runs of equal coordinates inside one parent group (a parent position, or for a
            # nonunique singleton the parent's run)
            group = parent if f == "n" else span  # span_end is constant on a parent run
            level.run_end = run_ends(group, c)
            parent_end = level.run_end
        else:
            parent_end = None
        levels.append(level)
        parent = np.arange(c.size, dtype=np.int64)
        nparents = int(c.size)
    tile_shape = vals.shape[1:]
    out = np.zeros((nparents, *tile_shape), np.float64)
    np.add.at(out, parent, vals)
    return TensorData(name, tuple(int(s) for s in shape), order, levels, out)


def from_value(name: str, value, fmt: str | None = None, order=None, block: int = 0,
               batch: tuple[int, ...] = ()) -> TensorData:
    """Bind a numpy array, scipy sparse matrix or torch tensor in format ``fmt``; with ``block``,
    as ``block`` x ``block`` tiles over its dimensions but the ``batch`` ones (``fmt`` and
    ``order`` then describe the block levels; only the non-empty blocks of a sparse level are
    stored)."""
    if isinstance(value, TensorData):
        return value
    _check_real(name, value)
    direct = _from_compressed_matrix(name, value, fmt, order, block)
    if direct is None:
        direct = _from_dense_array(name, value, fmt, order, block)
    if direct is not None:
        return direct
    coords, vals, shape = _as_coo(value)
    fmt = fmt or ("d" * len(shape) if not sp.issparse(value) else "dc")
    if not block:
        return from_coo(name, coords, vals, shape, fmt, order)
    if any(s % block for d, s in enumerate(shape) if d not in batch):
        raise FuseflowError(f"tensor {name!r}: shape {shape} is not a multiple of block {block}")
    dense = np.zeros(shape)
    dense[tuple(coords)] = vals
    outer, tiles = _tiles(dense, block, batch)
    nonzero = np.abs(tiles).sum(axis=tuple(range(len(outer), tiles.ndim)))
    bc = np.vstack(np.nonzero(nonzero)).astype(np.int64) if nonzero.ndim else np.zeros((0, 1), np.int64)
    td = from_coo(name, bc, tiles[tuple(bc)], outer, fmt, order)
    td.shape, td.block, td.batch = tuple(shape), block, tuple(batch)
    return td


def _tile_axes(shape, block: int, batch) -> tuple[list[int], list[int], list[int]]:
    """How a dense array of ``shape`` splits into tiles: the split shape (each blocked dimension
    as (blocks, block)), and the axes of the split array holding the block coordinates (one per
    dimension) and the in-block ones (one per blocked dimension)."""
    split, outer, inner = [], [], []
    for d, s in enumerate(shape):
        outer.append(len(split))
        if d in batch:
            split.append(s)
        else:
            inner.append(len(split) + 1)
            split += [s // block, block]
    return split, outer, inner


def _tiles(dense: np.ndarray, block: int, batch) -> tuple[tuple[int, ...], np.ndarray]:
    """``dense`` as an array of tiles indexed by block coordinates: (block shape, tiles). A tile
    over one blocked dimension is a 1 x B row."""
    split, outer, inner = _tile_axes(dense.shape, block, batch)
    tiles = dense.reshape(split).transpose(outer + inner)
    bshape = tuple(tiles.shape[:len(outer)])
    return bshape, tiles.reshape(bshape + ((1, block) if len(inner) == 1 else tiles.shape[len(outer):]))


def run_ends(group: np.ndarray, crd: np.ndarray) -> np.ndarray:
    """Per position, the end of the run of equal ``(group, crd)`` holding it (sorted input)."""
    n = crd.size
    if not n:
        return np.zeros(0, np.int64)
    brk = np.ones(n + 1, bool)
    brk[1:n] = (group[1:] != group[:-1]) | (crd[1:] != crd[:-1])
    starts = np.flatnonzero(brk)  # run starts, then n
    run_id = np.cumsum(brk[:n]) - 1
    return starts[run_id + 1].astype(np.int64)


def _from_compressed_matrix(name, value, fmt, order, block) -> TensorData | None:
    """A canonical scipy CSR or CSC matrix bound as ``"dc"`` in either order: the index arrays
    of its row (column) compressed form are the level arrays, no COO round trip (scipy converts
    CSR <-> CSC canonically). None when that does not apply."""
    if block or fmt != "dc" or not sp.issparse(value) or value.format not in ("csr", "csc"):
        return None
    if not value.has_canonical_format:
        return None
    order = tuple(order if order is not None else (0, 1))
    if order not in ((0, 1), (1, 0)):
        return None
    value = value.tocsr() if order == (0, 1) else value.tocsc()
    outer, inner = value.shape if order == (0, 1) else value.shape[::-1]
    seg = np.asarray(value.indptr, np.int64)
    crd = np.asarray(value.indices, np.int64)
    return TensorData(name, tuple(int(s) for s in value.shape), order,
                      [Level("d", int(outer)), Level("c", int(inner), seg, crd)], np.asarray(value.data, np.float64))


def _from_dense_array(name, value, fmt, order, block) -> TensorData | None:
    """A numpy array bound with every level dense: the values in level order are the array's,
    transposed to ``order`` (what ``from_coo`` builds from its nonzeros, zeros as +0.0), with
    no COO round trip. None when that does not apply."""
    if block or not isinstance(value, np.ndarray) or value.ndim == 0:
        return None
    rank = value.ndim
    if fmt is not None and fmt != "d" * rank:
        return None
    order = tuple(range(rank)) if order is None else tuple(order)
    if sorted(order) != list(range(rank)):
        return None  # from_coo names the mismatch
    vals = np.ascontiguousarray(value.transpose(order), np.float64).reshape(-1) + 0.0
    return TensorData(name, tuple(int(s) for s in value.shape), order,
                      [Level("d", int(value.shape[m])) for m in order], vals)


def level_positions(levels: list[Level]):
    """Per-position coordinates of every level: list of coordinate arrays at the last level."""
    pos = np.zeros(1, np.int64)
    cols: list[np.ndarray] = []
    for lv in levels:
        if lv.format == "d":
            child = (pos[:, None] * lv.dim + np.arange(lv.dim)[None, :]).ravel()
            cols = [np.repeat(c, lv.dim) for c in cols] + [np.tile(np.arange(lv.dim), pos.size)]
            pos = child
        elif lv.singleton:  # the same positions, one coordinate each
            cols.append(lv.crd[pos])
        else:
            starts, ends = lv.seg[pos], lv.seg[pos + 1]
            counts = ends - starts
            idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            cols = [np.repeat(c, counts) for c in cols] + [lv.crd[idx]]
            pos = idx
    return pos, cols


def levels_to_dense(levels, vals, shape, order, block: int = 0, batch: tuple[int, ...] = ()) -> np.ndarray:
    pos, cols = level_positions(levels)
    v = np.asarray(vals)[pos] if len(levels) else np.asarray(vals)[:1]
    idx = [None] * len(shape)
    for lv, m in enumerate(order):
        idx[m] = cols[lv]
    if not block:
        out = np.zeros(shape)
        if not len(levels):
            return out + (v[0] if v.size else 0.0)
        np.add.at(out, tuple(idx), v)
        return out
    split, outer, inner = _tile_axes(shape, block, batch)
    tiled = np.zeros([split[a] for a in outer + inner])
    np.add.at(tiled, tuple(idx), v.reshape(len(cols[0]), *tiled.shape[len(outer):]))
    return tiled.transpose(np.argsort(outer + inner)).reshape(shape)


def stored_value(td: TensorData):
    """``td`` as a value the binder re-packs without losing its stored entries: a rank-2
    unblocked sparse tensor as a scipy COO matrix that keeps explicit zeros (a stored 0.0 is an
    entry, e.g. a sampled score of 0 a masked softmax must count), anything else dense."""
    if not td.format.strip("d") or len(td.shape) != 2 or td.block:
        return td.to_dense()
    pos, cols = level_positions(td.levels)
    idx = [None, None]
    for lv, m in enumerate(td.order):
        idx[m] = cols[lv]
    return sp.coo_matrix((np.asarray(td.vals, np.float64)[pos], (idx[0], idx[1])), shape=td.shape)


def to_python_value(td: TensorData):
    """The natural Python value of an output: numpy if all levels are dense, else scipy CSR
    (rank 2) or a dense numpy array (other ranks)."""
    if td.format.strip("d") and len(td.shape) == 2:
        return sp.csr_matrix(td.to_dense()) if td.block else _csr_from_levels(td)
    return td.to_dense()


def _csr_from_levels(td: TensorData):
    if td.format == "dc" and tuple(td.order) in ((0, 1), (1, 0)):  # the levels are CSR (CSC) arrays
        lv = td.levels[1]
        arrays = (np.asarray(td.vals), lv.crd, lv.seg)
        m = sp.csr_matrix(arrays, shape=td.shape) if tuple(td.order) == (0, 1) else sp.csc_matrix(arrays, shape=td.shape)
        if m.has_canonical_format:  # else a writer repeated a coordinate: sum like COO does
            return m.tocsr()
    pos, cols = level_positions(td.levels)
    idx = [None, None]
    for lv, m in enumerate(td.order):
        idx[m] = cols[lv]
    m = sp.coo_matrix((np.asarray(td.vals)[pos], (idx[0], idx[1])), shape=td.shape)
    return m.tocsr()
