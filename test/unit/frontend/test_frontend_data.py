"""Data: synthetic generators, normalizations, loaders, BigBird layouts."""

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from fuseflow import data
from fuseflow.data.loaders import DataError
from fuseflow.models import bigbird_layout


@pytest.mark.parametrize("n, deg", [(200, 4.0), (1000, 8.0)])
def test_powerlaw_graph_hits_size_and_degree(n, deg):
    a = data.powerlaw_graph(n, deg, seed=1)
    assert a.shape == (n, n)
    assert (a != a.T).nnz == 0, "symmetric"
    assert a.diagonal().sum() == 0, "no self loops"
    assert set(np.unique(a.data)) == {1.0}
    assert abs(a.nnz / n - deg) / deg < 0.05
    degrees = np.asarray(a.sum(axis=1)).ravel()
    assert degrees.max() > 4 * deg, "heavy-tailed (power-law) degrees"


def test_powerlaw_graph_is_seeded():
    a, b = data.powerlaw_graph(300, 4, seed=3), data.powerlaw_graph(300, 4, seed=3)
    c = data.powerlaw_graph(300, 4, seed=4)
    assert (a != b).nnz == 0 and (a != c).nnz > 0


def test_powerlaw_graph_rejects_bad_sizes():
    with pytest.raises(ValueError, match="mean degree"):
        data.powerlaw_graph(10, 20)


def test_sparse_weight_density():
    w = data.sparse_weight((200, 300), density=0.1, seed=0)
    assert w.dtype == np.float32 and abs((w != 0).mean() - 0.1) < 0.01


def test_gcn_normalize_matches_formula():
    a = data.powerlaw_graph(50, 3, seed=0)
    got = data.gcn_normalize(a).toarray()
    ai = a.toarray() + np.eye(50)
    d = ai.sum(1) ** -0.5
    np.testing.assert_allclose(got, d[:, None] * ai * d[None, :], rtol=1e-6)
    m = data.mean_normalize(a).toarray()
    deg = a.toarray().sum(1)
    np.testing.assert_allclose(m.sum(1)[deg > 0], 1.0, rtol=1e-6)


def test_load_graph_npz(tmp_path):
    a = data.powerlaw_graph(20, 3, seed=0)
    f = sp.csr_matrix(np.eye(20, 5, dtype=np.float32))
    path = tmp_path / "g.npz"
    np.savez(path, adj_indptr=a.indptr, adj_indices=a.indices, adj_shape=np.array(a.shape),
             feat_indptr=f.indptr, feat_indices=f.indices, feat_data=f.data,
             feat_shape=np.array(f.shape), labels=np.arange(20))
    g = data.load_graph(path)
    assert (g.adj != a).nnz == 0 and g.features.shape == (20, 5) and g.labels[3] == 3
    np.savez(tmp_path / "bad.npz", x=np.ones(2))
    with pytest.raises(DataError, match="missing keys"):
        data.load_graph(tmp_path / "bad.npz")
    with pytest.raises(DataError, match="not found"):
        data.load_graph(tmp_path / "absent.npz")


def test_load_mtx(tmp_path):
    m = sp.random(7, 5, density=0.3, random_state=0, format="coo")
    scipy.io.mmwrite(str(tmp_path / "m.mtx"), m)
    got = data.load_mtx(tmp_path / "m.mtx")
    np.testing.assert_allclose(got.toarray(), m.toarray(), rtol=1e-6)


@pytest.mark.parametrize("layout", ["dense", "coo", "csr", "csc", "bsr", "bsc"])
def test_to_torch_layouts(layout):
    torch = pytest.importorskip("torch")
    a = data.powerlaw_graph(12, 3, seed=0)
    t = data.to_torch(a, layout, blocksize=(2, 3))
    assert t.dtype == torch.float32
    np.testing.assert_array_equal(t.to_dense().numpy(), a.toarray())
    np.testing.assert_array_equal(data.to_scipy(t).toarray(), a.toarray())


def test_bigbird_layout_structure():
    lay = bigbird_layout(128, 16, random_blocks=2, seed=0)
    b = lay.blocks
    n = 8
    assert b.shape == (n, n)
    assert b[0].all() and b[-1].all() and b[:, 0].all() and b[:, -1].all(), "global"
    assert all(b[i, max(0, i - 1):i + 2].all() for i in range(n)), "window"
    interior = [i for i in range(1, n - 1)]
    assert all(b[i].sum() == min(n, 5 + 2) for i in interior if i not in (1, n - 2))
    assert lay.mask().shape == (128, 128)
    assert np.array_equal(lay.blocks, bigbird_layout(128, 16, random_blocks=2, seed=0).blocks)
    assert not np.array_equal(lay.blocks, bigbird_layout(128, 16, random_blocks=2, seed=1).blocks)


def test_bigbird_density_shrinks_with_smaller_blocks():
    dens = [bigbird_layout(1024, b, random_blocks=2).density for b in (16, 32, 64)]
    assert dens[0] < dens[1] < dens[2]
    assert 0.1 < dens[0] < 0.2


def test_bigbird_rejects_bad_blocks():
    with pytest.raises(ValueError, match="divide"):
        bigbird_layout(100, 16)
