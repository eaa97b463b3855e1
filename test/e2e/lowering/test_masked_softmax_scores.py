"""A masked softmax whose scores are sparse: where the mask stores an entry the scores do not,
PyTorch's score is an implicit 0 (not -inf), so the stored-entries softmax must keep it. The
sample then has a non-empty ``right`` region, which the lowering refuses clearly rather than
dropping those entries (found by the generated-model suite); dense scores are unchanged, and a
stored score of exactly 0 survives between regions."""

from __future__ import annotations

import warnings

import pytest
import torch

import fuseflow
from fuseflow.errors import UnsupportedOp

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


class MaskedSoftmax(torch.nn.Module):
    def forward(self, scores, mask):
        return torch.softmax(scores.masked_fill(mask == 0, float("-inf")), dim=-1)


MASK = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
SCORES = torch.tensor([[0.0, 0.0], [0.0, 2.0]])  # row 0's attended entry is an implicit zero


@pytest.mark.parametrize("fusion", ["unfused", "full"])
def test_sparse_scores_are_refused_not_wrong(fusion):
    with pytest.raises(UnsupportedOp, match="non-empty left or right region") as e:
        fuseflow.compile(MaskedSoftmax(), (SCORES.to_sparse_csr(), MASK.to_sparse_csr()), fusion=fusion)
    # the rewritten softmax carries the model's location, not the rewrite template's
    assert "test_masked_softmax_scores.py" in str(e.value) and '"-":' not in str(e.value)


@pytest.mark.parametrize("fusion", ["unfused", "full"])
def test_dense_scores_keep_their_stored_entries_softmax(fusion):
    args = (SCORES + 0.5, MASK.to_sparse_csr())
    prog = fuseflow.compile(MaskedSoftmax(), args, fusion=fusion)
    res = fuseflow.simulate(prog, args, check=True)
    assert res.outputs[0][0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("fusion", ["unfused", "layers"])
def test_a_stored_zero_score_survives_between_regions(fusion):
    """A score of exactly 0 sampled in one region is a stored entry for the next: the program
    runner passes sparse intermediates with their stored entries, explicit zeros included
    (it used to re-pack them from their non-zeros, which dropped it)."""
    args = (SCORES, MASK.to_sparse_csr())
    prog = fuseflow.compile(MaskedSoftmax(), args, fusion=fusion)
    res = fuseflow.simulate(prog, args, check=True)
    assert res.outputs[0][0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("fusion", ["unfused", "full"])
def test_column_major_dense_scores_are_dense_scores(fusion):
    """A column-major layout of dense scores is an encoding with dense levels only: nothing is
    implicit, so the sample needs no 0 for absent scores (it used to be refused as sparse)."""
    args = (SCORES + 0.5, MASK.to_sparse_csr())
    prog = fuseflow.compile(MaskedSoftmax(), args, sparse={"scores": "d1:dense,d0:dense"}, fusion=fusion,
                            layouts="auto")
    res = fuseflow.simulate(prog, args, check=True)
    assert res.outputs[0][0].tolist() == [0.0, 1.0]
