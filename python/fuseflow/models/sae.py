"""The sparse autoencoder: ``dec(relu(enc(x)))`` with pruned (sparse) encoder/decoder weights."""

from __future__ import annotations

import torch
from torch import nn

from fuseflow.models._init import private_rng


def prune_(weight: torch.Tensor, density: float, generator: torch.Generator) -> None:
    """Zero all but a random ``density`` fraction of ``weight`` in place (seeded)."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    keep = torch.rand(weight.shape, generator=generator) < density
    with torch.no_grad():
        weight.mul_(keep.to(weight.dtype))


class SparseAutoencoder(nn.Module):
    """``y = sigmoid(relu(x W1^T + b1) W2^T + b2)`` (sigmoid optional).

    ``enc.weight`` (hidden x in) and ``dec.weight`` (in x hidden) keep a ``density`` fraction of
    their entries (seeded), so importing them with ``sparse={"enc.weight": "csr",
    "dec.weight": "csr"}`` stores real sparsity. Inputs: ``x`` of shape (batch, in_features).
    """

    # (in_features, hidden) of the paper's configurations; batch 32, 90% sparse weights.
    PAPER = {"imagenet": (50176, 256), "1m": (1048576, 512), "256k": (262144, 512)}
    PAPER_BATCH = 32
    PAPER_DENSITY = 0.1

    def __init__(self, in_features: int = 64, hidden: int = 16, *, density: float = 0.1,
                 sigmoid: bool = True, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        with private_rng():
            self.enc = nn.Linear(in_features, hidden)
            self.dec = nn.Linear(hidden, in_features)
            for lin in (self.enc, self.dec):
                with torch.no_grad():
                    lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) / lin.in_features**0.5)
                    lin.bias.copy_(torch.randn(lin.bias.shape, generator=g) * 0.1)
                prune_(lin.weight, density, g)
        self.sigmoid = sigmoid

    @classmethod
    def paper(cls, config: str = "imagenet", **kw) -> SparseAutoencoder:
        """A paper-scale model: ``imagenet`` (224x224 = 50,176 -> 256), ``1m`` (1,048,576 ->
        512) or ``256k`` (262,144 -> 512), 90% sparse weights; use batch ``PAPER_BATCH``."""
        if config not in cls.PAPER:
            raise ValueError(f"unknown config '{config}'; choose one of {', '.join(cls.PAPER)}")
        n_in, hidden = cls.PAPER[config]
        kw.setdefault("density", cls.PAPER_DENSITY)
        return cls(n_in, hidden, **kw)

    def example_input(self, batch: int = 8, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.rand(batch, self.enc.in_features, generator=g)

    def forward(self, x):
        h = torch.relu(self.enc(x))
        y = self.dec(h)
        return torch.sigmoid(y) if self.sigmoid else y
