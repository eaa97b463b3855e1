"""The classic kernels (``fuseflow.sim.examples``) end to end: engine == functional model == scipy, on random and real matrices;
bounded FIFOs change cycles, never outputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import load_matrix

from fuseflow.sim import HardwareConfig, SimulationMismatch, examples, simulate_graph


def rand(m, n, density, seed, empty_rows=(), empty_cols=()):
    a = sp.random(m, n, density=density, random_state=seed, format="lil")
    for r in empty_rows:
        a[r, :] = 0
    for c in empty_cols:
        a[:, c] = 0
    a = sp.csr_matrix(a)
    a.eliminate_zeros()
    return a


def kernel_cases(A, B, M, x, A2):
    return {
        "spmv": ({"A": A, "x": x}, A @ x),
        "spmv_locate": ({"A": A, "x": x}, A @ x),
        "spmv_par2": ({"A": A, "x": x}, A @ x),
        "spmm_ijk": ({"A": A, "B": B}, (A @ B).toarray()),
        "spmm_ikj": ({"A": A, "B": B}, (A @ B).toarray()),
        "spmm_kij": ({"A": A, "B": B}, (A @ B).toarray()),
        "sddmm": ({"S": M, "A": A, "B": B.T}, M.multiply(A @ B).toarray()),
        "add": ({"A": A, "B": A2}, (A + A2).toarray()),
        "mul": ({"A": A, "B": A2}, A.multiply(A2).toarray()),
    }


SMALL = kernel_cases(
    rand(7, 9, 0.3, 1, empty_rows=(3, 6)),
    rand(9, 5, 0.3, 2, empty_rows=(2,), empty_cols=(4,)),
    rand(7, 5, 0.4, 3, empty_rows=(2, 6)),
    np.random.default_rng(0).random(9),
    rand(7, 9, 0.3, 5),
)


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("hw", [HardwareConfig(), HardwareConfig(fifo_depth=0, memory=False), HardwareConfig(fifo_depth=2, spacc_flush_ii=0)], ids=["default", "unbounded", "depth2"])
def test_kernels_match_scipy_and_the_functional_model(name, hw):
    inputs, want = SMALL[name]
    res = simulate_graph(examples.graph(name), inputs, hw=hw, check=True, expected=want)
    simulate_graph(examples.graph(name), inputs, hw=hw, check=True)  # against the functional model
    assert res.cycles > 0 and res.region_cycles == [res.cycles]
    ref = simulate_graph(examples.graph(name), inputs, engine="functional", check=True, expected=want)
    got = res.outputs["out"]
    np.testing.assert_allclose(got.toarray() if sp.issparse(got) else got, want, rtol=1e-12)
    assert ref.cycles == 0


def test_every_kernel_is_covered():
    assert sorted(SMALL) == sorted(set(examples.names()) - {"bspmm_ijk"})  # bspmm_ijk: below


def test_dcsr_output_through_crd_drop():
    A, B = rand(6, 6, 0.2, 7, empty_rows=(0, 5)), rand(6, 6, 0.2, 8)
    res = simulate_graph(examples.graph("mul"), {"A": A, "B": B}, check=True, expected=A.multiply(B).toarray())
    t = res.tensors["out"]
    assert t.format == "cc"
    nonempty_rows = np.unique(A.multiply(B).tocoo().row)
    np.testing.assert_array_equal(t.levels[0].crd, nonempty_rows)


def test_bounded_fifos_change_cycles_not_outputs():
    inputs, want = SMALL["spmm_ikj"]
    results = [simulate_graph(examples.graph("spmm_ikj"), inputs, hw=HardwareConfig(fifo_depth=d, memory=False)) for d in (0, 2, 3, 8)]
    for r in results:
        np.testing.assert_allclose(r.outputs["out"].toarray(), want)
    assert results[1].cycles > results[0].cycles  # depth 2 throttles the pipeline
    assert results[3].cycles <= results[1].cycles


def test_check_raises_loudly_on_mismatch():
    inputs, want = SMALL["spmv"]
    with pytest.raises(SimulationMismatch, match="MISMATCH"):
        simulate_graph(examples.graph("spmv"), inputs, check=True, expected=want + 1.0)
    inputs, _ = SMALL["add"]
    wrong = sp.csr_matrix(inputs["A"] + 2 * inputs["B"])
    with pytest.raises(SimulationMismatch, match="stored elements differ"):
        simulate_graph(examples.graph("add"), inputs, check=True, expected=wrong)
    simulate_graph(examples.graph("add"), inputs, check=True, expected=sp.csr_matrix(inputs["A"] + inputs["B"]))


def test_memory_model_costs_cycles_and_counts_bytes():
    inputs, _ = SMALL["spmm_ikj"]
    on = simulate_graph(examples.graph("spmm_ikj"), inputs, hw=HardwareConfig(memory=True))
    off = simulate_graph(examples.graph("spmm_ikj"), inputs, hw=HardwareConfig(memory=False))
    assert on.cycles > off.cycles
    t = on.totals()
    assert t["bytes_read"] > 0 and t["bytes_written"] > 0 and t["ops"] > 0


@pytest.mark.parametrize("matrix", ["bcsstm02", "lp_scsd1", "cryg2500"])
def test_real_matrices(matrix):
    warnings.simplefilter("ignore")
    A = load_matrix(matrix)
    m, n = A.shape
    rng = np.random.default_rng(1)
    x = rng.random(n)
    simulate_graph(examples.graph("spmv"), {"A": A, "x": x}, check=True, expected=A @ x)
    if matrix == "cryg2500":  # keep the suite fast: SpMV + Gustavson SpMM on a row slice
        A = A[:400]
    B = sp.csr_matrix(A.T)
    simulate_graph(examples.graph("spmm_ikj"), {"A": A, "B": B}, check=True, expected=(A @ B).toarray())
    simulate_graph(examples.graph("add"), {"A": A, "B": A}, check=True, expected=(2 * A).toarray())
    if matrix != "cryg2500":
        simulate_graph(examples.graph("spmm_kij"), {"A": A, "B": B}, check=True, expected=(A @ B).toarray())
        D = sp.csr_matrix(rng.random((n, 8)))
        E = sp.csr_matrix(rng.random((8, n)))
        M = sp.csr_matrix(A @ B)
        simulate_graph(examples.graph("sddmm"), {"S": M, "A": A @ D, "B": (E @ A.T).T},
                       check=True, expected=M.multiply((A @ D) @ (E @ A.T)).toarray())


@pytest.mark.parametrize("depth", [0, 3])
def test_block_sparse_spmm_with_tile_values(depth):
    rng = np.random.default_rng(4)
    mask_a = np.kron(rng.random((3, 4)) < 0.5, np.ones((2, 2)))
    mask_b = np.kron(rng.random((4, 2)) < 0.5, np.ones((2, 2)))
    A, B = rng.random((6, 8)) * mask_a, rng.random((8, 4)) * mask_b
    hw = HardwareConfig(fifo_depth=depth)
    res = simulate_graph(examples.graph("bspmm_ijk"), {"A": A, "B": B}, hw=hw, check=True, expected=A @ B)
    simulate_graph(examples.graph("bspmm_ijk"), {"A": A, "B": B}, engine="functional", check=True, expected=A @ B)
    scalar = simulate_graph(examples.graph("spmm_ijk"), {"A": sp.csr_matrix(A), "B": sp.csr_matrix(B)}, hw=hw)
    assert res.tensors["out"].vals.shape[1:] == (2, 2)
    assert res.cycles != scalar.cycles  # tile costs apply
    # the tile matmul latency 2B-1 / II B and the tile reduce +B*B show up in the ALU node
    alu = next(s for s in res.stats[0] if s.kind == "alu")
    assert alu.busy_cycles > 0


def _two_regions():
    """SpMM then SpMV of its result: (A B) x, and its inputs."""
    from fuseflow.sim import GraphSequence

    A, B = rand(6, 7, 0.4, 11), rand(7, 5, 0.4, 12)
    x = np.arange(5.0)
    g2 = examples.graph("spmv")  # reads region 1's output "out" as its matrix
    g2.inputs[0].name = "out"
    g2.outputs[0].shape = (("out", 0),)
    g2.outputs[0].name = "y"
    return GraphSequence([examples.graph("spmm_ikj"), g2]), {"A": A, "B": B, "x": x}, (A @ B) @ x


def test_multi_region_program_sums_region_cycles():
    seq, inputs, want = _two_regions()
    res = simulate_graph(seq, inputs, check=True, expected={"y": want})
    assert len(res.region_cycles) == 2 and all(c > 0 for c in res.region_cycles)
    assert res.cycles == sum(res.region_cycles)
    assert res.overlapped_cycles == max(res.region_cycles)
    assert list(res.outputs) == ["y"]


@pytest.mark.parametrize("wrong_model", [False, True], ids=["model-exact", "model-off"])
def test_regions_side_by_side_give_the_in_order_results(monkeypatch, wrong_model):
    from fuseflow.sim import runner

    seq, inputs, _ = _two_regions()
    want = simulate_graph(seq, inputs)
    if wrong_model:  # region 2's pooled run gets other inputs, and is simulated again
        real = runner.simulate_region

        def off_by_one(graph, args, hw, engine, **kw):
            run = real(graph, args, hw, engine, **kw)
            for t in run.tensors if engine == "functional" else ():
                t.vals = t.vals + 1.0
            return run

        monkeypatch.setattr(runner, "simulate_region", off_by_one)
    got = simulate_graph(seq, inputs, workers=2)
    assert got.region_cycles == want.region_cycles and got.stats == want.stats
    assert got.region_memory == want.region_memory and got.region_buffers == want.region_buffers
    np.testing.assert_array_equal(got.outputs["y"], want.outputs["y"])


def test_torch_inputs_dense_csr_and_coo():
    import torch

    A, B = SMALL["spmm_ikj"][0]["A"], SMALL["spmm_ikj"][0]["B"]
    want = (A @ B).toarray()
    ta = torch.tensor(A.toarray(), dtype=torch.float32)
    tb = torch.tensor(B.toarray(), dtype=torch.float32)
    for a, b in ((ta, tb), (ta.to_sparse_csr(), tb.to_sparse_coo()), (ta.to_sparse_coo(), tb.to_sparse_csr())):
        simulate_graph(examples.graph("spmm_ikj"), {"A": a, "B": b}, check=True, expected=torch.tensor(want), rtol=1e-5)


def test_rank0_input_and_output():
    from fuseflow.sim import GraphBuilder

    b = GraphBuilder("dot")
    x, y, s = b.input("x", "c"), b.input("y", "c"), b.input("s", "")
    out = b.output("out", "", ())
    _, xr = b.fiber_lookup(b.root(), x, 0)
    i_x, _ = b.fiber_lookup(b.root(), x, 0)
    i_y, yr = b.fiber_lookup(b.root(), y, 0)
    _, (xr2, yr2) = b.intersect([(i_x, xr), (i_y, yr)])
    dot = b.reduce(b.alu("mul", b.array(xr2, x), b.array(yr2, y)))
    b.val_write(b.alu("mul", dot, b.array(b.root(), s)), out)
    g = b.build()
    xv, yv = np.array([1.0, 0, 2, 3]), np.array([0.0, 5, 4, 1])
    for engine in ("compiled", "functional"):
        res = simulate_graph(g, {"x": xv, "y": yv, "s": np.float64(0.5)}, engine=engine, check=True, expected=np.asarray(0.5 * xv @ yv))
        assert np.isclose(res.outputs["out"], 5.5)
