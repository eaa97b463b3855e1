"""GraphSAGE with mean aggregation, 2 layers."""

from __future__ import annotations

import torch
from torch import nn

from fuseflow.models._init import init_linear_, private_rng


class SAGELayer(nn.Module):
    """``X Ws + (D^-1 A X) Wn + b``: the degree is computed from ``adj`` in the graph (row sums,
    clamped at 1 so isolated nodes aggregate to zero)."""

    def __init__(self, in_features: int, out_features: int, g: torch.Generator):
        super().__init__()
        self.self_lin = nn.Linear(in_features, out_features)
        self.neigh_lin = nn.Linear(in_features, out_features, bias=False)
        init_linear_(self.self_lin, g)
        init_linear_(self.neigh_lin, g)

    def forward(self, adj, x):
        inv_deg = 1.0 / adj.sum(1).clamp(min=1.0)
        mean = (adj @ x) * inv_deg.unsqueeze(1)
        return self.self_lin(x) + self.neigh_lin(mean)


class GraphSAGE(nn.Module):
    """``layer2(relu(layer1(A, X)))`` with mean-aggregating :class:`SAGELayer` s.

    Inputs: ``adj`` (N x N binary adjacency, usually sparse) and ``x`` (N x in_features).
    """

    PAPER = {"hidden": 16}

    def __init__(self, in_features: int = 16, hidden: int = 16, out_features: int = 7, *,
                 seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        with private_rng():
            self.layer1 = SAGELayer(in_features, hidden, g)
            self.layer2 = SAGELayer(hidden, out_features, g)

    @classmethod
    def paper(cls, in_features: int, out_features: int, **kw) -> GraphSAGE:
        return cls(in_features, cls.PAPER["hidden"], out_features, **kw)

    def forward(self, adj, x):
        return self.layer2(adj, torch.relu(self.layer1(adj, x)))
