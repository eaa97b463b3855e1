"""Sparsity propagated by fuseflow-normalize (products, quotients, relu, gelu, tanh, SDDMM)
keeps the values: the normalized IR still computes what PyTorch computes."""

import warnings

import numpy as np
import pytest
import torch

from fuseflow import oracle
from fuseflow.frontend import import_model
from fuseflow.passes import run_pipeline

warnings.simplefilter("ignore", UserWarning)


class Op(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, a, d):
        return self.fn(a, d)


CHAINS = {
    # name: (function, number of sparse results the propagation must create)
    "relu_mul_scale": (lambda a, d: torch.relu(a * d) * 2, 3),
    "mul_div": (lambda a, d: a * d / (d * d + 1), 2),
    "sddmm_relu": (lambda a, d: torch.relu((d @ d.t()) * a), 2),
    "sddmm_spmm": (lambda a, d: ((d @ d.t()) * a) @ d, 1),
    "gelu": (lambda a, d: torch.nn.functional.gelu(a * d) + d, 2),
    "neg_tanh": (lambda a, d: torch.tanh(-(a * 3.0)) @ d, 3),
}


@pytest.fixture(scope="module")
def operands():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(8, 8, generator=g) * (torch.rand(8, 8, generator=g) < 0.3)
    return a, torch.randn(8, 8, generator=g)


@pytest.mark.parametrize("fmt", ["csr", "coo", "bsr2"])
@pytest.mark.parametrize("chain", list(CHAINS))
def test_propagated_sparsity_keeps_values(operands, chain, fmt):
    a, d = operands
    fn, n_sparse = CHAINS[chain]
    m = import_model(Op(fn), (a, d), sparse={"a": fmt})
    run_pipeline(m, "builtin.module(fuseflow-normalize)")
    assert str(m).count("tensor.empty() : tensor<8x8xf32, #sparse") == n_sparse
    (got,) = oracle.run(m, [a, d])
    np.testing.assert_allclose(got, fn(a, d).numpy(), rtol=1e-4, atol=1e-5)
