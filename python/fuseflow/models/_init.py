"""Seeded parameter initialization (no global RNG state is touched)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def private_rng() -> Iterator[None]:
    """Build layers without advancing the global torch RNG (nn.Linear's constructor draws
    from it; the models then overwrite those values from their own seeded generator)."""
    with torch.random.fork_rng(devices=[]):
        yield


def init_linear_(lin: nn.Linear, g: torch.Generator) -> None:
    """Uniform(-1/sqrt(in), 1/sqrt(in)) weights and bias, as nn.Linear does, from ``g``."""
    bound = 1.0 / lin.in_features**0.5
    with torch.no_grad():
        lin.weight.copy_((torch.rand(lin.weight.shape, generator=g) * 2 - 1) * bound)
        if lin.bias is not None:
            lin.bias.copy_((torch.rand(lin.bias.shape, generator=g) * 2 - 1) * bound)
