"""Loaders: the graph npz layout, Matrix Market files, and conversions scipy <-> torch.

Graph npz keys (binary symmetric adjacency, CSR): ``adj_indptr``, ``adj_indices``,
``adj_shape``; optionally ``feat_indptr``, ``feat_indices``, ``feat_data``, ``feat_shape``
(CSR features) and ``labels``. ``np.load`` needs no pickle for these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from fuseflow import env
from fuseflow.errors import FuseflowError

DATA_DIR_ENV = env.DATA_DIR


class DataError(FuseflowError):
    """A data file is missing or malformed."""


@dataclass(frozen=True)
class Graph:
    """A graph: ``adj`` (N x N scipy CSR, float32), optional ``features`` (scipy CSR) and
    ``labels`` (int array)."""

    adj: sp.csr_matrix
    features: sp.csr_matrix | None = None
    labels: np.ndarray | None = None

    @property
    def num_nodes(self) -> int:
        return self.adj.shape[0]


def find_dataset(relative: str, root: str | os.PathLike | None = None) -> Path | None:
    """The path of ``relative`` (e.g. ``graphs/cora.npz``) under ``root``, or under
    ``$FUSEFLOW_DATA_DIR``; None when it is not there."""
    root = root or env.data_dir()
    if not root:
        return None
    path = Path(root) / relative
    return path if path.exists() else None


def load_graph(path: str | os.PathLike) -> Graph:
    """Load a graph npz (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"graph file not found: {path}")
    with np.load(path, allow_pickle=False) as d:
        keys = set(d.files)
        missing = {"adj_indptr", "adj_indices", "adj_shape"} - keys
        if missing:
            raise DataError(f"{path}: missing keys {sorted(missing)} (have {sorted(keys)})")
        shape = tuple(int(s) for s in d["adj_shape"])
        indices = d["adj_indices"]
        adj = sp.csr_matrix((np.ones(len(indices), np.float32), indices, d["adj_indptr"]), shape=shape)
        feats = None
        if {"feat_indptr", "feat_indices", "feat_data", "feat_shape"} <= keys:
            feats = sp.csr_matrix(
                (d["feat_data"].astype(np.float32), d["feat_indices"], d["feat_indptr"]),
                shape=tuple(int(s) for s in d["feat_shape"]),
            )
        labels = d["labels"] if "labels" in keys else None
    return Graph(adj, feats, labels)


def load_mtx(path: str | os.PathLike) -> sp.csr_matrix:
    """A Matrix Market file as a float32 scipy CSR matrix (symmetric storage expanded)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"Matrix Market file not found: {path}")
    try:
        m = scipy.io.mmread(str(path))
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: not a readable Matrix Market file: {e}") from None
    if np.iscomplexobj(m.data if sp.issparse(m) else m):
        raise DataError(f"{path}: complex values are not supported (real numbers only)")
    return sp.csr_matrix(m, dtype=np.float32)


def to_scipy(x) -> sp.csr_matrix:
    """A 2-D torch tensor (any layout), numpy array or scipy matrix as scipy CSR (float32)."""
    if sp.issparse(x):
        return sp.csr_matrix(x, dtype=np.float32)
    if hasattr(x, "layout"):
        import torch

        t = x.detach().cpu()
        if t.layout == torch.strided:
            return sp.csr_matrix(t.numpy().astype(np.float32))
        c = t.to_sparse_coo().coalesce()
        i = c.indices().numpy()
        return sp.csr_matrix((c.values().numpy().astype(np.float32), (i[0], i[1])), shape=tuple(c.shape))
    return sp.csr_matrix(np.asarray(x, np.float32))


_LAYOUTS = ("dense", "coo", "csr", "csc", "bsr", "bsc")


def to_torch(x, layout: str = "csr", blocksize: tuple[int, int] | int | None = None):
    """A 2-D matrix (scipy, numpy or torch) as a float32 torch tensor in ``layout``
    (dense, coo, csr, csc, bsr, bsc; block layouts need ``blocksize``)."""
    import torch

    if layout not in _LAYOUTS:
        raise DataError(f"unknown torch layout '{layout}'; expected one of {', '.join(_LAYOUTS)}")
    m = to_scipy(x)
    if layout == "csr":
        return torch.sparse_csr_tensor(
            torch.from_numpy(m.indptr.astype(np.int64)), torch.from_numpy(m.indices.astype(np.int64)),
            torch.from_numpy(m.data.astype(np.float32)), size=m.shape, check_invariants=True,
        )
    dense = torch.from_numpy(m.toarray())
    if layout == "dense":
        return dense
    if layout == "coo":
        return dense.to_sparse_coo().coalesce()
    if layout == "csc":
        return dense.to_sparse_csc()
    if blocksize is None:
        raise DataError(f"layout '{layout}' needs a blocksize")
    b = (blocksize, blocksize) if isinstance(blocksize, int) else tuple(blocksize)
    if m.shape[0] % b[0] or m.shape[1] % b[1]:
        raise DataError(f"block size {b} does not divide the matrix shape {m.shape}")
    return dense.to_sparse_bsr(b) if layout == "bsr" else dense.to_sparse_bsc(b)
