"""Seeded synthetic data: power-law graphs, sparse weights and features.

``powerlaw_graph`` is a Chung-Lu graph: node i gets an expected degree ``w_i`` proportional to
``(i + 1)^(-1/(exponent - 1))`` (a power-law degree distribution), scaled so that the mean
degree is ``mean_degree``; edge (i, j) is drawn with probability ``min(1, w_i w_j / sum(w))``.
The result is symmetric, binary and has no self loops, like the citation graphs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def powerlaw_graph(num_nodes: int, mean_degree: float = 4.0, *, exponent: float = 2.5,
                   seed: int = 0) -> sp.csr_matrix:
    """A symmetric binary N x N adjacency (float32 CSR) with a power-law degree distribution."""
    if num_nodes < 2:
        raise ValueError(f"a graph needs at least 2 nodes, got {num_nodes}")
    if not 0 < mean_degree < num_nodes - 1:
        raise ValueError(f"mean degree must be in (0, {num_nodes - 1}), got {mean_degree}")
    if exponent <= 2:
        raise ValueError(f"exponent must be > 2, got {exponent}")
    rng = np.random.default_rng(seed)
    w = (np.arange(num_nodes) + 1.0) ** (-1.0 / (exponent - 1.0))
    w *= mean_degree * num_nodes / w.sum()
    total = w.sum()
    # Sample edges by expected count: m ~ N * mean / 2 undirected edges, endpoints by weight.
    m = rng.poisson(mean_degree * num_nodes / 2)
    p = w / total
    src = rng.choice(num_nodes, size=2 * m + 16, p=p)
    dst = rng.choice(num_nodes, size=2 * m + 16, p=p)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    a = sp.coo_matrix((np.ones(len(src), np.float32), (src, dst)), shape=(num_nodes, num_nodes)).tocsr()
    a = a + a.T
    a.data[:] = 1.0
    a.eliminate_zeros()
    # Trim to the target edge count (duplicates made it smaller; extra draws larger).
    target = int(round(mean_degree * num_nodes / 2))
    upper = sp.triu(a, k=1).tocoo()
    if upper.nnz > target:
        pick = np.sort(rng.choice(upper.nnz, size=target, replace=False))
        upper = sp.coo_matrix((upper.data[pick], (upper.row[pick], upper.col[pick])), shape=a.shape)
    a = (upper + upper.T).tocsr()
    return sp.csr_matrix(a, dtype=np.float32)


def sparse_weight(shape: tuple[int, int], density: float = 0.1, *, seed: int = 0,
                  scale: float | None = None) -> np.ndarray:
    """A dense float32 matrix with a ``density`` fraction of normal(0, scale) entries (default
    scale 1/sqrt(shape[1])) and zeros elsewhere."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    rng = np.random.default_rng(seed)
    scale = scale if scale is not None else 1.0 / np.sqrt(shape[1])
    w = rng.normal(0.0, scale, size=shape).astype(np.float32)
    w[rng.random(shape) >= density] = 0.0
    return w


def random_features(num_nodes: int, num_features: int, *, density: float = 1.0,
                    seed: int = 0) -> np.ndarray:
    """Seeded uniform [0, 1) node features (float32), optionally with a density."""
    rng = np.random.default_rng(seed)
    x = rng.random((num_nodes, num_features), dtype=np.float32)
    if density < 1.0:
        x[rng.random(x.shape) >= density] = 0.0
    return x
