"""Dimensions that may vary: a program compiled with ``dynamic=`` runs other sizes there on a
program compiled for them (cached per shape), checked against PyTorch; other shape changes, and
any change without ``dynamic=``, are refused naming the input and both shapes."""

from __future__ import annotations

import warnings

import pytest
import torch
from small_models import SparseLinear

import fuseflow
from fuseflow.errors import FuseflowError

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _args(rows: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(rows, 6, generator=g)
    a[a < 0.3] = 0
    return a.to_sparse_csr(), torch.randn(6, 5, generator=g)


@pytest.mark.parametrize("dynamic", [{"a": [0]}, {"a": {0: "batch"}}])
def test_other_batch_sizes_run_on_a_program_compiled_for_them(dynamic):
    prog = fuseflow.compile(SparseLinear().eval(), _args(8), fusion="full", dynamic=dynamic)
    assert prog.dynamic == {"a": {0}}
    small = fuseflow.simulate(prog, _args(8), check=True)
    big = fuseflow.simulate(prog, _args(16, seed=1), check=True)
    again = fuseflow.simulate(prog, _args(16, seed=2), check=True)
    assert big.outputs[0].shape == (16, 3) and small.outputs[0].shape == (8, 3)
    assert big.cycles > small.cycles and again.cycles > small.cycles
    assert len(prog._variants) == 1  # 16 rows compiled once
    assert prog.for_shapes(_args(8)) is prog


def test_shape_changes_are_refused_with_the_shapes():
    fixed = fuseflow.compile(SparseLinear().eval(), _args(8))
    with pytest.raises(FuseflowError, match=r"input 'a' has shape \(16, 6\); the program was compiled for \(8, 6\)"):
        fuseflow.simulate(fixed, _args(16))
    prog = fuseflow.compile(SparseLinear().eval(), _args(8), dynamic={"a": [0]})
    g = torch.Generator().manual_seed(0)
    with pytest.raises(FuseflowError, match=r"input 'x' has shape \(7, 5\).*compiled for \(6, 5\)"):
        fuseflow.simulate(prog, (_args(8)[0], torch.randn(7, 5, generator=g)))
    with pytest.raises(FuseflowError, match="not a forward\\(\\) argument"):
        fuseflow.compile(SparseLinear().eval(), _args(8), dynamic={"b": [0]})
    with pytest.raises(FuseflowError, match="dimension\\(s\\) \\[2\\] for 'a', which has 2"):
        fuseflow.compile(SparseLinear().eval(), _args(8), dynamic={"a": [2]})
