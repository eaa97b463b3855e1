"""The four applications: import each with each supported input format, run the IR through
the reference (MLIR sparsifier + ExecutionEngine), before and after fuseflow-normalize, and
compare with PyTorch eager."""

import warnings

import numpy as np
import pytest
import torch

from fuseflow import data, oracle
from fuseflow.frontend import import_model
from fuseflow.models import GCN, GPTBigBirdBlock, GraphSAGE, SparseAutoencoder
from fuseflow.passes import run_pipeline

warnings.simplefilter("ignore", UserWarning)

RTOL, ATOL = 1e-4, 1e-5
TORCH_LAYOUTS = {
    "coo": lambda t: t.to_sparse_coo(),
    "csr": lambda t: t.to_sparse_csr(),
    "csc": lambda t: t.to_sparse_csc(),
    "bsr": lambda t: t.to_sparse_bsr((4, 4)),
    "bsc": lambda t: t.to_sparse_bsc((4, 4)),
}


def check(model, args, sparse=None, normalize=False):
    expected = model(*[a.to_dense() if a.layout != torch.strided else a for a in args])
    m = import_model(model, args, sparse=sparse)
    if normalize:
        run_pipeline(m, "builtin.module(fuseflow-normalize)")
    (got,) = oracle.run(m, list(args))
    np.testing.assert_allclose(got, expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    return m


@pytest.fixture(scope="module")
def graph():
    a = data.powerlaw_graph(32, 4, seed=0)
    x = torch.from_numpy(data.random_features(32, 12, seed=0))
    return a, x


@pytest.mark.parametrize("normalize", [False, True], ids=["imported", "normalized"])
@pytest.mark.parametrize("layout", list(TORCH_LAYOUTS) + ["dcsr"])
def test_gcn(graph, layout, normalize):
    a, x = graph
    adj = torch.from_numpy(data.gcn_normalize(a).toarray())
    model = GCN(12, 8, 4, log_softmax=True)
    if layout in TORCH_LAYOUTS:
        check(model, (TORCH_LAYOUTS[layout](adj), x), normalize=normalize)
    else:
        check(model, (adj, x), sparse={"adj": layout}, normalize=normalize)


@pytest.mark.parametrize("normalize", [False, True], ids=["imported", "normalized"])
@pytest.mark.parametrize("layout", list(TORCH_LAYOUTS) + ["dcsr"])
def test_graphsage(graph, layout, normalize):
    a, x = graph
    adj = torch.from_numpy(a.toarray())
    model = GraphSAGE(12, 8, 4)
    if layout in TORCH_LAYOUTS:
        check(model, (TORCH_LAYOUTS[layout](adj), x), normalize=normalize)
    else:
        check(model, (adj, x), sparse={"adj": layout}, normalize=normalize)


@pytest.mark.parametrize("normalize", [False, True], ids=["imported", "normalized"])
@pytest.mark.parametrize("enc, dec", [("csr", "csr"), ("coo", "csc"), ("bsr(4,8)", "dcsr")])
def test_sparse_autoencoder(enc, dec, normalize):
    model = SparseAutoencoder(64, 16, density=0.2)
    m = check(model, (model.example_input(8),), sparse={"enc.weight": enc, "dec.weight": dec},
              normalize=normalize)
    assert [s.name for s in m.inputs] == ["x", "enc.weight", "dec.weight"]
    assert [s.kind for s in m.inputs] == ["input", "weight", "weight"]


@pytest.mark.parametrize("normalize", [False, True], ids=["imported", "normalized"])
@pytest.mark.parametrize("layout", ["bsr", "csr", "coo"])
def test_gpt_bigbird_block(layout, normalize):
    model = GPTBigBirdBlock(d_model=16, heads=2, ffn=32)
    x, mask = model.example_inputs(seq=32, block=4)
    assert 0.2 < (mask != 0).float().mean() < 0.9, "the layout really is sparse"
    sparse_mask = mask.to_sparse_bsr((4, 4)) if layout == "bsr" else TORCH_LAYOUTS[layout](mask)
    m = check(model, (x, sparse_mask), normalize=normalize)
    if normalize:
        assert 'fuseflow.pattern = "masked_softmax"' in str(m)


def test_weights_can_be_rebound_and_named():
    model = SparseAutoencoder(16, 8, density=0.5)
    x = model.example_input(4)
    m = import_model(model, (x,), sparse={"enc.weight": "csr"})
    other = np.zeros((8, 16), np.float32)
    (got,) = oracle.run(m, {"x": x, "enc.weight": other})
    h = torch.relu(torch.from_numpy(model.enc.bias.detach().numpy()).expand(4, 8))
    expected = torch.sigmoid(model.dec(h)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
