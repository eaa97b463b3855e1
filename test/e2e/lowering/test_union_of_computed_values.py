"""A union fills a participant lacking a coordinate with N placeholders, loaded as 0: exact only
where the participant's value is then 0. A masked softmax joined with a dense operand is exact
when built once as a value (its value stream carries the N); where it would be rebuilt inline,
exp(0 - max) would appear where the mask stores nothing, so that order is refused (found by the
generated-model suite as a wrong answer). A max over a sum of sparse inputs fused with it is
refused likewise (docs/lowering.md)."""

from __future__ import annotations

import warnings

import pytest
import torch

import fuseflow
from fuseflow.errors import InfeasibleOrder, LoweringError

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


class SoftmaxMinusDense(torch.nn.Module):
    def forward(self, a, s, m, b):
        p = torch.softmax(s.masked_fill(m == 0, float("-inf")), dim=-1)
        return a @ (p - b)


def _operands():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(5, 6, generator=g) * (torch.rand(5, 6, generator=g) < 0.4)
    s = torch.randn(6, 7, generator=g)
    m = (torch.rand(6, 7, generator=g) < 0.5).float()
    m[:, 0] = 1.0  # every row attends somewhere
    b = torch.rand(6, 7, generator=g)
    return (a.to_sparse_csr(), s, m.to_sparse_csr(), b)


def test_softmax_built_once_as_a_value_is_exact_in_a_union():
    args = _operands()
    prog = fuseflow.compile(SoftmaxMinusDense(), args, sparse={"a": "csr", "m": "csr"}, fusion="full",
                            layouts="auto")
    fuseflow.simulate(prog, args, check=True)


def test_softmax_that_would_be_rebuilt_inside_a_union_is_refused_not_wrong():
    args = _operands()
    with pytest.raises(InfeasibleOrder, match="where it stores nothing, and it is not 0 there"):
        fuseflow.compile(SoftmaxMinusDense(), args, sparse={"a": "dcsr", "m": "csr"}, fusion="full",
                         layouts="auto")
    prog = fuseflow.compile(SoftmaxMinusDense(), args, sparse={"a": "dcsr", "m": "csr"}, fusion="unfused",
                            layouts="auto")
    fuseflow.simulate(prog, args, check=True)


class MaxOfSum(torch.nn.Module):
    def forward(self, a, b):
        return (a + b).amax(-1)


def test_max_over_a_sum_of_sparse_inputs_fused_is_refused_and_exact_unfused():
    a = torch.tensor([[0.0, -1.0, 0.0], [0.0, 0.0, 0.0], [-2.0, 0.0, -3.0]])
    b = torch.tensor([[0.0, 0.0, -4.0], [0.0, -1.0, 0.0], [0.0, -1.0, 0.0]])
    args = (a.to_sparse_csr(), b.to_sparse_csr())
    with pytest.raises(LoweringError, match="would ignore the implicit zeros"):
        fuseflow.compile(MaxOfSum(), args, fusion="full")
    prog = fuseflow.compile(MaxOfSum(), args, fusion="unfused")
    res = fuseflow.simulate(prog, args, check=True)
    assert res.outputs[0].tolist() == [0.0, 0.0, -1.0]  # rows 0 and 1 keep an implicit zero


class SoftmaxOfSparseProduct(torch.nn.Module):
    def forward(self, x, b, m):
        s = torch.nn.functional.gelu(x @ b)
        return torch.softmax(s.masked_fill(m == 0, float("-inf")), dim=-1)


def test_scores_computed_sparse_in_an_order_are_not_sampled_in_it():
    """Scores ``gelu(X @ B_csr)`` have a dense type: where a column of B stores nothing the score
    is gelu(0) = 0, an entry the softmax counts. An order that iterates them sparse along the
    masked dimension would drop those mask entries (found as a wrong answer by the
    generated-model suite): it is refused, and the order chosen keeps the reduction inside."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 2, generator=g)
    b = torch.zeros(2, 6)
    b[0, 1] = 1.5  # columns other than 1 store nothing
    m = (torch.rand(5, 6, generator=g) < 0.5).float()
    m[:, 0] = 1.0
    args = (x, b.to_sparse_csr(), m.to_sparse_csc())
    for fusion in ("layers", "full"):
        prog = fuseflow.compile(SoftmaxOfSparseProduct(), args, fusion=fusion, layouts="auto")
        fuseflow.simulate(prog, args, check=True)
    with pytest.raises(InfeasibleOrder, match="sampling them would drop the mask's entries"):
        fuseflow.compile(SoftmaxOfSparseProduct(), args, fusion="full", layouts="auto",
                         order={"region0": "i,k,j,l,m"})
