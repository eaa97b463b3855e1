"""Packing tensors into format buffers (sparse-assembler order) and unpacking them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuseflow.frontend.buffers import pack, unpack

FORMATS = ["csr", "csc", "coo", "dcsr", "dcsc", "bsr2", "bsr(2,3)", "bsc(3,2)", "d1:compressed,d0:dense", "dense"]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0.0, 1.0), fmt=st.sampled_from(FORMATS))
def test_pack_unpack_round_trip(seed, density, fmt):
    rng = np.random.default_rng(seed)
    dense = (rng.normal(size=(6, 6)) * (rng.random((6, 6)) < density)).astype(np.float32)
    assert np.array_equal(unpack(pack(dense, fmt), fmt, dense.shape), dense)


def test_csr_buffers_match_torch():
    torch = pytest.importorskip("torch")
    d = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 3.0]])
    pos, crd, val = pack(d, "csr")
    t = d.to_sparse_csr()
    assert pos.tolist() == t.crow_indices().tolist() == [0, 1, 1, 3]
    assert crd.tolist() == t.col_indices().tolist() == [1, 0, 2]
    assert val.tolist() == [1.0, 2.0, 3.0]


def test_coo_has_pos_then_one_coordinate_array_per_dim():
    d = np.zeros((3, 4), np.float32)
    d[0, 3], d[2, 1] = 5.0, 7.0
    pos, rows, cols, val = pack(d, "coo")
    assert pos.tolist() == [0, 2] and rows.tolist() == [0, 2] and cols.tolist() == [3, 1]
    assert val.tolist() == [5.0, 7.0]


def test_bsr_stores_whole_blocks_row_major():
    d = np.zeros((4, 4), np.float32)
    d[0, 1] = 1.0
    d[3, 2] = 2.0
    pos, crd, val = pack(d, "bsr2")
    assert pos.tolist() == [0, 1, 2] and crd.tolist() == [0, 1]
    assert val.tolist() == [0, 1, 0, 0, 0, 0, 2, 0]


def test_unpack_ignores_overallocated_tails():
    d = np.array([[0, 1], [2, 0]], np.float32)
    pos, crd, val = pack(d, "csr")
    got = unpack([pos, np.concatenate([crd, [9, 9]]), np.concatenate([val, [7, 7]])], "csr", d.shape)
    assert np.array_equal(got, d)


def test_accepts_scipy_and_torch_sparse():
    sp = pytest.importorskip("scipy.sparse")
    torch = pytest.importorskip("torch")
    d = np.array([[0, 1], [2, 0]], np.float32)
    ref = pack(d, "dcsr")
    for x in (sp.csr_matrix(d), torch.from_numpy(d).to_sparse_coo()):
        assert all(np.array_equal(a, b) for a, b in zip(pack(x, "dcsr"), ref, strict=True))


@pytest.mark.parametrize("fmt", ["csr", "csc", "bsr2", "d1:compressed,d0:dense"])
def test_empty_rows_and_all_zero_tensors(fmt):
    d = np.zeros((4, 4), np.float32)
    assert np.array_equal(unpack(pack(d, fmt), fmt, d.shape), d)
    d[1, 2] = 3.0
    assert np.array_equal(unpack(pack(d, fmt), fmt, d.shape), d)


def test_pack_reads_values_as_the_program_does():
    """One conversion to numpy (``fuseflow.program.to_numpy``): bfloat16 is widened exactly and
    values that are not real numbers are refused by name."""
    torch = pytest.importorskip("torch")
    from fuseflow.errors import FuseflowError

    d = torch.tensor([[0.0, 1.5], [2.25, 0.0]], dtype=torch.bfloat16)
    assert pack(d, "csr")[2].tolist() == [1.5, 2.25]
    with pytest.raises(FuseflowError, match="complex"):
        pack(np.ones((2, 2), np.complex64), "csr")
