"""Graph normalizations: GCN's symmetric normalization and mean aggregation."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fuseflow.data.loaders import to_scipy


def gcn_normalize(adj, self_loops: bool = True) -> sp.csr_matrix:
    """``D^-1/2 (A + I) D^-1/2`` (Kipf & Welling; PyG's GCNConv), D the degrees of A + I.

    Nodes of degree 0 (only without self loops) get a zero row and column.
    """
    a = to_scipy(adj)
    if self_loops:
        a = a + sp.identity(a.shape[0], dtype=np.float32, format="csr")
    deg = np.asarray(a.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(deg)
    nz = deg > 0
    inv_sqrt[nz] = deg[nz] ** -0.5
    d = sp.diags(inv_sqrt.astype(np.float32))
    return sp.csr_matrix(d @ a @ d, dtype=np.float32)


def mean_normalize(adj) -> sp.csr_matrix:
    """``D^-1 A``: each row averages its neighbours (rows of isolated nodes stay zero)."""
    a = to_scipy(adj)
    deg = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / deg[deg > 0]
    return sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ a, dtype=np.float32)
