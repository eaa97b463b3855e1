"""GCN and GraphSAGE on Cora (read from the shared data folder; skipped when absent)."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from fuseflow import data, oracle
from fuseflow.frontend import import_model
from fuseflow.models import GCN, GraphSAGE
from fuseflow.passes import run_pipeline

warnings.simplefilter("ignore", UserWarning)

DATA_ROOT = os.environ.get(data.loaders.DATA_DIR_ENV) or str(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
CORA = data.find_dataset("graphs/cora.npz", DATA_ROOT)
pytestmark = pytest.mark.skipif(CORA is None, reason=f"Cora not found under {DATA_ROOT}/graphs (set FUSEFLOW_DATA_DIR)")


@pytest.fixture(scope="module")
def cora():
    g = data.load_graph(CORA)
    return g, torch.from_numpy(g.features.toarray())


def run(model, adj, x):
    m = import_model(model, (adj, x))
    run_pipeline(m, "builtin.module(fuseflow-normalize)")
    (got,) = oracle.run(m, [adj, x])
    expected = model(adj.to_dense(), x).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_gcn_on_cora(cora):
    g, x = cora
    assert g.num_nodes == 2708 and g.adj.nnz == 10556
    adj = data.to_torch(data.gcn_normalize(g.adj), "csr")
    run(GCN.paper(x.shape[1], 7), adj, x)


def test_graphsage_on_cora(cora):
    g, x = cora
    run(GraphSAGE.paper(x.shape[1], 7), data.to_torch(g.adj, "csr"), x)
