"""Transformer building blocks, lowered and simulated: layernorm (keepdim statistics), the
masked softmax over a sparse mask's stored entries, and multi-head reshapes/transposes."""

import math

import numpy as np
import pytest
import torch
from kernels import Fn, dense, sparse

from fuseflow.compiler import compile
from fuseflow.errors import FuseflowError

RTOL, ATOL = 1e-4, 1e-5


def _check(prog, args, engine="functional"):
    want = prog.reference(args)
    got = prog.run(args, engine=engine).outputs
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


def _mask(n, density, seed):
    m = (sparse((n, n), density, seed, layout="dense") != 0).float()
    return m + torch.eye(n)  # every row attends somewhere (its diagonal)


def masked_softmax(s, m):
    return torch.softmax(s.masked_fill(m == 0, float("-inf")), dim=-1)


def heads(x, w):
    seq, d = x.shape
    q = x.reshape(seq, 2, d // 2).transpose(0, 1)  # heads x seq x dh
    s = q @ q.transpose(1, 2) * (1.0 / math.sqrt(d // 2))
    return (s @ q).transpose(0, 1).reshape(seq, d) @ w


@pytest.mark.parametrize("fusion", ["unfused", "full"])
def test_layernorm_keepdim_statistics(fusion):
    ln = torch.nn.LayerNorm(6)
    with torch.no_grad():
        ln.weight.copy_(dense((6,), 3))
        ln.bias.copy_(dense((6,), 4))
    args = (dense((5, 6), 0),)
    prog = compile(ln.eval(), args, fusion=fusion)
    _check(prog, args)
    if fusion == "unfused":  # Nx1 statistics are written without the unit dim, then reshaped
        assert "tensor.expand_shape" in prog.stage("lowered")


@pytest.mark.parametrize("fusion", ["unfused", "full"])
def test_masked_softmax_over_stored_entries(fusion):
    args = (dense((8, 8), 0), _mask(8, 0.3, 1))
    prog = compile(Fn(masked_softmax), args, sparse={"arg1": "csr"}, fusion=fusion)
    for engine in ("functional", "cycle"):
        _check(prog, args, engine)
    assert any("stored_exp" in e for r in prog.regions for e in r.exprs)


def test_softmax_of_a_sparse_tensor_without_mask_is_rejected():
    # exp of the implicit zeros is 1: not expressible with implicit zeros
    args = (sparse((6, 6), 0.4, 0),)
    with pytest.raises(FuseflowError, match="implicit zero"):
        compile(Fn(lambda a: torch.exp(a)), args, fusion="unfused")


@pytest.mark.parametrize("fusion", ["unfused", "layers", "full"])
def test_multi_head_reshapes_and_transposes(fusion):
    args = (dense((6, 8), 0), dense((8, 4), 1))
    prog = compile(Fn(heads), args, fusion=fusion)
    _check(prog, args)
    lowered = prog.stage("lowered")
    assert "tensor.expand_shape" in lowered and "tensor.collapse_shape" in lowered
