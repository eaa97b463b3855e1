"""GCN on Cora (sparse features, from the shared data folder; skipped when absent) fused per
layer: every output checked, and the dense side of each co-iteration with the 1,433-wide
feature dimension is located, never walked by a scanner into an intersection."""

import os
import warnings
from pathlib import Path

import pytest

import fuseflow
from fuseflow import data
from fuseflow.models import GCN

warnings.simplefilter("ignore", UserWarning)

DATA_ROOT = os.environ.get(data.loaders.DATA_DIR_ENV) or str(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
CORA = data.find_dataset("graphs/cora.npz", DATA_ROOT)
pytestmark = pytest.mark.skipif(CORA is None, reason=f"Cora not found under {DATA_ROOT}/graphs (set FUSEFLOW_DATA_DIR)")


def test_gcn_on_cora_per_layer_locates_into_dense_fibers():
    g = data.load_graph(CORA)
    adj = data.to_torch(data.gcn_normalize(g.adj), "csr")
    x = data.to_torch(g.features, "csr")
    model = GCN.paper(x.shape[1], 7).eval()
    prog = fuseflow.compile(model, (adj, x), fusion="layers")
    res = fuseflow.simulate(prog, (adj, x), check=True)
    nodes = [n for region in res.stats.values() for n in region]
    # no joiner scans the dense side: the weights are located at the features' stored columns
    assert not [n.name for n in nodes if n.kind == "intersect"]
    busiest = max(nodes, key=lambda n: n.tokens_in)
    # X W is rebuilt per stored A[i,k] (A @ (X W): i drives it), about 13.3k x 18 x 16 = 3.9M
    # products, accumulated with their coordinates (three input streams, 8.5M tokens); walking
    # the dense feature fibers instead took 616M tokens in one intersection
    assert busiest.tokens_in < 10_000_000, (busiest.name, busiest.tokens_in)
    assert res.totals()["ops"] < 4 * fuseflow.simulate(fuseflow.compile(model, (adj, x)), (adj, x)).totals()["ops"]
