"""Data for the models: loaders (graph npz, Matrix Market, scipy, torch sparse), GCN/mean
normalization, and seeded synthetic generators so nothing needs external files.

    from fuseflow import data
    g = data.load_graph("/path/to/cora.npz")        # Graph(adj=scipy CSR, features, labels)
    a_hat = data.gcn_normalize(g.adj)               # D^-1/2 (A + I) D^-1/2
    adj = data.to_torch(a_hat, "csr")               # torch.sparse_csr_tensor (float32)
    g = data.powerlaw_graph(1000, mean_degree=4, seed=0)
    w = data.sparse_weight((256, 1024), density=0.1, seed=0)
"""

from fuseflow.data.loaders import Graph, find_dataset, load_graph, load_mtx, to_scipy, to_torch
from fuseflow.data.normalize import gcn_normalize, mean_normalize
from fuseflow.data.synthetic import powerlaw_graph, random_features, sparse_weight

__all__ = [
    "Graph",
    "find_dataset",
    "gcn_normalize",
    "load_graph",
    "load_mtx",
    "mean_normalize",
    "powerlaw_graph",
    "random_features",
    "sparse_weight",
    "to_scipy",
    "to_torch",
]
