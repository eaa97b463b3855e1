"""Small models the frontend tests share."""

from __future__ import annotations

import torch


class SparseLinear(torch.nn.Module):
    """``relu(lin(a @ x))``: a (sparse or dense) matrix product, a linear layer, a relu."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(5, 3)

    def forward(self, a, x):
        return torch.relu(self.lin(a @ x))
