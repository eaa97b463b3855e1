"""Contraction order as a schedule choice (``associate``, ``fuseflow-reassociate``): a chain
``A @ X @ W`` runs as ``(A @ X) @ W`` or ``A @ (X @ W)``, every variant checked against PyTorch
eager, and the explorer's space holds both."""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from kernels import KERNELS, Fn

import fuseflow
from fuseflow import data, workloads
from fuseflow.errors import FuseflowError
from fuseflow.explore.design import Explorer
from fuseflow.models import GCN

warnings.simplefilter("ignore", UserWarning)

DATA_ROOT = os.environ.get(data.loaders.DATA_DIR_ENV) or str(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
CORA = data.find_dataset("graphs/cora.npz", DATA_ROOT)


def _contractions(prog) -> list[list[str]]:
    """The operand shapes of each contraction of the normalized module, in program order."""
    return [re.findall(r"tensor<(\d+x\d+)x", re.search(r"ins\(([^)]*)\)", line).group(1))
            for line in prog.stage("normalized").splitlines() if 'fuseflow.kind = "matmul"' in line]


@pytest.mark.parametrize("fusion", ["unfused", "full"])
@pytest.mark.parametrize("associate", ["keep", "left", "right"])
def test_chain_in_every_association_matches_pytorch(associate, fusion):
    fn, make, fmts = KERNELS["chain"]  # (A @ B) @ C with A 8 x 10 CSR, B 10 x 6, C 6 x 5
    args = make()
    prog = fuseflow.compile(Fn(fn), args, sparse=fmts, fusion=fusion, associate=associate)
    res = fuseflow.simulate(prog, args, check=True)
    want = prog.reference(args)[0]
    np.testing.assert_allclose(res.outputs[0], want, rtol=1e-4, atol=1e-5)
    # as written (keep, left): A @ B first, then @ C; right: B @ C first, then A @ (B C)
    want = [["10x6", "6x5"], ["8x10", "10x5"]] if associate == "right" else [["8x10", "10x6"], ["8x6", "6x5"]]
    assert _contractions(prog) == want


def test_gcn_per_layer_wins_when_it_aggregates_first():
    w = workloads.gcn()
    unfused = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse), w.args, check=True)
    kept = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers"), w.args, check=True)
    left = fuseflow.simulate(fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers", associate="left"),
                             w.args, check=True)
    # A @ (X W) fused rebuilds X W per stored A[i,k]; (A X) W aggregates each row once and
    # projects it: fewer operations than either, and faster than unfused (FuseFlow: 1.5-3.9x)
    assert left.totals()["ops"] < kept.totals()["ops"]
    assert left.cycles < unfused.cycles < kept.cycles


def test_explorer_space_holds_both_associations():
    w = workloads.gcn(nodes=24, features=8, hidden=8, classes=4)
    ex = Explorer(w, fusions=("layers",), optimize=(True,), associate=("keep", "left"))
    assert {p["associate"] for p in ex.points()} == {"keep", "left"}
    left = next(p for p in ex.points() if p["associate"] == "left")
    assert ex.options(left).associate == "left"
    assert all(name.startswith("order_layers_left_") for name in left if name.startswith("order_"))
    assert ex.evaluate(left).feasible
    with pytest.raises(FuseflowError, match="associate must be values of keep, left, right"):
        Explorer(w, associate=("sideways",))


def test_bad_association_is_a_clear_error():
    fn, make, fmts = KERNELS["chain"]
    with pytest.raises(FuseflowError, match="associate must be one of keep, left, right"):
        fuseflow.compile(Fn(fn), make(), sparse=fmts, associate="up")


@pytest.mark.skipif(CORA is None, reason=f"Cora not found under {DATA_ROOT}/graphs (set FUSEFLOW_DATA_DIR)")
@pytest.mark.parametrize("associate", ["right", "left"])
def test_gcn_on_cora_in_both_associations(associate):
    g = data.load_graph(CORA)
    adj = data.to_torch(data.gcn_normalize(g.adj), "csr")
    x = data.to_torch(g.features, "csr")
    model = GCN.paper(x.shape[1], 7).eval()  # computes A @ (X W) as written: right
    prog = fuseflow.compile(model, (adj, x), fusion="layers", associate=associate)
    res = fuseflow.simulate(prog, (adj, x), check=True)
    assert res.cycles > 0
