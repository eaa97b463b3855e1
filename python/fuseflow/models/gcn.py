"""The 2-layer graph convolutional network (Kipf & Welling)."""

from __future__ import annotations

import torch
from torch import nn

from fuseflow.models._init import init_linear_, private_rng


class GCN(nn.Module):
    """``out = A relu(A X W1 + b1) W2 + b2`` (then ``log_softmax`` over classes if asked).

    Inputs: ``adj`` (N x N, the normalized adjacency, usually sparse: see
    ``fuseflow.data.gcn_normalize``) and ``x`` (N x in_features node features).
    """

    PAPER = {"hidden": 16}

    def __init__(self, in_features: int = 16, hidden: int = 16, out_features: int = 7, *,
                 log_softmax: bool = False, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        with private_rng():
            self.lin1 = nn.Linear(in_features, hidden, bias=False)
            self.lin2 = nn.Linear(hidden, out_features, bias=False)
            init_linear_(self.lin1, g)
            init_linear_(self.lin2, g)
        self.bias1 = nn.Parameter(torch.randn(hidden, generator=g) * 0.1)
        self.bias2 = nn.Parameter(torch.randn(out_features, generator=g) * 0.1)
        self.log_softmax = log_softmax

    @classmethod
    def paper(cls, in_features: int, out_features: int, **kw) -> GCN:
        """The paper configuration (hidden 16) for a dataset's feature and class counts."""
        return cls(in_features, cls.PAPER["hidden"], out_features, **kw)

    def forward(self, adj, x):
        h = torch.relu(adj @ self.lin1(x) + self.bias1)
        out = adj @ self.lin2(h) + self.bias2
        return torch.log_softmax(out, dim=-1) if self.log_softmax else out
