"""Sparse tensors with unit (size-1) dimensions: a region reads them without those dimensions
(``drop_unit_levels``: a 1 x n CSR is a sparse vector of its row, an n x 1 CSR the sparse vector
of its non-empty rows, a batch-1 COO or batched CSR tensor its 2-D slice) and the program
collapses the value before the call. Every case is checked against PyTorch eager, at every
fusion granularity and in both layout modes."""

import warnings

import numpy as np
import pytest
import torch
from kernels import Fn, dense, sparse

import fuseflow
from fuseflow.sim import HardwareConfig

warnings.simplefilter("ignore", UserWarning)


def sparse3(shape, density, seed, layout):
    """A seeded 3-D sparse tensor (batched CSR or COO) with mixed signs."""
    g = torch.Generator().manual_seed(seed)
    d = torch.rand(*shape, generator=g) * (torch.rand(*shape, generator=g) < density)
    d = d - 0.5 * (d > 0)
    return d.to_sparse_csr() if layout == "csr" else d.to_sparse_coo().coalesce()


def column(n, rows, seed=0):
    """An n x 1 CSR whose stored rows are ``rows`` (the others are empty)."""
    d = torch.zeros(n, 1)
    d[list(rows), 0] = torch.rand(len(rows), generator=torch.Generator().manual_seed(seed)) + 0.5
    return d.to_sparse_csr()


class GCN(torch.nn.Module):
    """relu(A @ (X @ W)) on a one-node graph (A is 1 x 1)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(dense((4, 3), 7))

    def forward(self, a, x):
        return torch.relu(a @ (x @ self.w))


class Head(torch.nn.Module):
    """A linear layer with one output feature whose 1 x 6 weight is sparse (lifted, CSR)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(sparse((1, 6), 0.5, 3, layout="dense"))

    def forward(self, x):
        return x @ self.w.t()


CASES = {
    # name: (model, args factory, sparse formats)
    "row_csr_matmul": (Fn(lambda a, b: a @ b), lambda: (sparse((1, 8), 0.5, 0), dense((8, 3), 1)), {}),
    "row_csr_matvec": (Fn(lambda a, x: a @ x), lambda: (sparse((1, 8), 0.5, 0), dense((8,), 1)), {}),
    "column_csr_outer": (Fn(lambda a, b: a @ b), lambda: (column(8, [1, 4, 5]), dense((1, 3), 1)), {}),
    "column_coo_outer": (Fn(lambda a, b: a @ b), lambda: (column(8, [0, 7]).to_dense().to_sparse_coo(),
                                                          dense((1, 3), 1)), {}),
    "column_dcsr_outer": (Fn(lambda a, b: a @ b), lambda: (column(8, [2, 3]), dense((1, 3), 1)), {"arg0": "dcsr"}),
    "scalar_csr": (Fn(lambda a, b: a @ b), lambda: (torch.tensor([[2.5]]).to_sparse_csr(), dense((1, 3), 1)), {}),
    "dense_times_column_csr": (Fn(lambda a, b: a @ b), lambda: (dense((3, 8), 1), column(8, [0, 6])), {}),
    "dense_times_row_csr": (Fn(lambda a, b: a @ b), lambda: (dense((3, 1), 1), sparse((1, 8), 0.5, 0)), {}),
    "batch1_coo_bmm": (Fn(torch.bmm), lambda: (sparse3((1, 6, 5), 0.4, 0, "coo"), dense((1, 5, 3), 1)), {}),
    "batch1_csr_bmm": (Fn(torch.bmm), lambda: (sparse3((1, 6, 5), 0.4, 0, "csr"), dense((1, 5, 3), 1)), {}),
    "batch1_bmm_sparse_right": (Fn(torch.bmm), lambda: (dense((1, 6, 5), 1), sparse3((1, 5, 3), 0.4, 0, "coo")), {}),
    "row_csr_mul": (Fn(lambda a, b: a * b), lambda: (sparse((1, 8), 0.5, 0), dense((1, 8), 1)), {}),
    "column_csr_mul_broadcast": (Fn(lambda a, b: a * b), lambda: (column(8, [1, 2, 6]), dense((8, 3), 1)), {}),
    "column_csr_relu": (Fn(torch.relu), lambda: (sparse((8, 1), 0.5, 0),), {}),
    "column_chain": (Fn(lambda a, b, c: torch.relu(a * b) @ c),
                     lambda: (sparse((8, 1), 0.5, 0), dense((8, 1), 1), dense((1, 3), 2)), {}),
    "gcn_one_node": (GCN(), lambda: (torch.tensor([[0.5]]).to_sparse_csr(), dense((1, 4), 2)), {}),
    "sparse_weight_one_output": (Head(), lambda: (dense((4, 6), 1),), {"w": "csr"}),
    "batch1_masked_scores": (Fn(lambda m, q, k: torch.bmm(q, k.transpose(1, 2)) * m),
                             lambda: (sparse3((1, 6, 6), 0.4, 0, "coo"), dense((1, 6, 4), 1), dense((1, 6, 4), 2)),
                             {}),
}


def _eager(model, args) -> list[np.ndarray]:
    with torch.no_grad():
        out = model(*(a.to_dense() if a.layout != torch.strided else a for a in args))
    return [(out.to_dense() if out.layout != torch.strided else out).numpy()]


@pytest.mark.parametrize("layouts", ["declared", "auto"])
@pytest.mark.parametrize("fusion", ["unfused", "layers", "full"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_sparse_operand_with_unit_dims_matches_pytorch(case, fusion, layouts):
    model, make, fmts = CASES[case]
    args = make()
    prog = fuseflow.compile(model, args, sparse=fmts, fusion=fusion, layouts=layouts)
    res = fuseflow.simulate(prog, args, check=True)
    (want,) = _eager(model, args)
    assert res.outputs[0].shape == want.shape
    np.testing.assert_allclose(res.outputs[0], want, rtol=1e-4, atol=1e-5)


def test_a_column_is_read_as_the_sparse_vector_of_its_stored_rows():
    # 2,000 rows, 3 of them stored: the graph visits the 3 rows, never the 2,000
    n, rows, m = 2000, [5, 999, 1500], 4
    a, b = column(n, rows), dense((1, m), 1)
    prog = fuseflow.compile(Fn(lambda x, y: x @ y), (a, b), fusion="full")
    graph = prog.graph("main_region0")
    arg0 = str(graph.regions[0].blocks[0].arguments[0].type)
    assert arg0.startswith(f"tensor<{n}xf32, #sparse_tensor.encoding<{{ map = (d0) -> (d0 : compressed)")
    assert "tensor.collapse_shape %arg0 [[0, 1]]" in prog.stage("lowered")
    assert prog.relayouts == []  # a format conversion in one level order (like CSR to DCSR): free
    res = fuseflow.simulate(prog, (a, b), check=True)
    np.testing.assert_allclose(res.outputs[0], (a.to_dense() @ b).numpy(), rtol=1e-5)
    assert res.totals()["ops"] == len(rows) * m  # one multiply per stored entry and column
    busiest = max(s.tokens_out for s in res.stats["main_region0"])
    assert busiest < 4 * len(rows) * (m + 1)  # no stream walks the rows
    # the same column read densely is walked row by row: what the sparse reading avoids
    dense_prog = fuseflow.compile(Fn(lambda x, y: x @ y), (a.to_dense(), b), fusion="full")
    dense_res = fuseflow.simulate(dense_prog, (a.to_dense(), b), check=True)
    assert max(s.tokens_out for s in dense_res.stats["main_region0"]) > n


def test_an_empty_column_gives_zeros_and_new_rows_are_read_at_run_time():
    a, b = column(6, []), dense((1, 3), 1)
    prog = fuseflow.compile(Fn(lambda x, y: x @ y), (a, b), fusion="full")
    res = fuseflow.simulate(prog, (a, b), check=True)
    assert res.outputs[0].shape == (6, 3) and not res.outputs[0].any()
    a2 = column(6, [3], seed=1)
    res2 = fuseflow.simulate(prog, (a2, b), check=True)
    np.testing.assert_allclose(res2.outputs[0], (a2.to_dense() @ b).numpy(), rtol=1e-5)
    assert res2.outputs[0][3].any()


def test_a_batch1_slice_read_in_another_order_pays_a_sparse_relayout():
    model, make, _ = CASES["batch1_coo_bmm"]
    args = make()
    # the declared layout fixes the slice's stored order: rows before columns
    assert fuseflow.compile(model, args, fusion="full").regions[0].orders == ("i,k,j",)
    # in the order it is stored in, nothing is relaid
    natural = fuseflow.compile(model, args, fusion="full", layouts="auto", order=["ikj"])
    assert natural.relayouts == [] and natural.read_formats() == {}
    # columns first: the slice is read as compressed(nonunique) columns over singleton rows, a
    # transpose of its stored entries, charged on them (value and 2 coordinates each, plus the
    # outer level's 6 + 1 positions)
    moved = fuseflow.compile(model, args, fusion="full", layouts="auto", order=["kij"])
    assert moved.read_formats() == {"main_region0 arg0": "d1:compressed(nonunique),d0:singleton"}
    assert [(r.name, r.sparse_levels) for r in moved.relayouts] == [("main_region0 arg0", 2)]
    res = fuseflow.simulate(moved, args, check=True)
    stored = int((args[0].to_dense() != 0).sum())
    assert res.relayouts == {"main_region0 arg0": HardwareConfig().relayout_cycles(stored * 3 + 7)}
    assert res.cycles == sum(res.region_cycles.values()) + res.relayouts["main_region0 arg0"]


def test_every_case_has_a_nonzero_reference():
    # a comparison that passes on zeros would prove nothing
    for case, (model, make, _) in CASES.items():
        (want,) = _eager(model, make())
        assert np.abs(want).sum() > 0, case
