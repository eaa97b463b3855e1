"""Sparsity blocking: regions that read a block-sparse (BSR/BSC) input run on B x B tile streams,
their dense operands tiled the same way; every program is simulated and compared with PyTorch
eager, and what has no tile form is a clear error naming the input or the op."""

import re

import numpy as np
import pytest
import torch

import fuseflow
from fuseflow import workloads
from fuseflow.errors import BlockingError

pytestmark = pytest.mark.filterwarnings("ignore:Sparse BS[RC] tensor support is in beta")

RTOL, ATOL = 1e-4, 1e-5
FUSIONS = ["unfused", "layers", "full"]


def _block_sparse(m: int, n: int, block: int, density: float = 0.5, seed: int = 0) -> torch.Tensor:
    """A dense m x n matrix whose B x B blocks are kept with probability ``density`` (at least one)."""
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(m // block, n // block, generator=g) < density
    keep[0, 0] = True
    mask = keep.repeat_interleave(block, 0).repeat_interleave(block, 1)
    return torch.rand(m, n, generator=g) * mask


class MatMul(torch.nn.Module):
    def forward(self, a, x):
        return a @ x


class Linear(torch.nn.Module):
    def forward(self, x, w, b):
        return torch.relu(x @ w.t() + b)


class RowScaled(torch.nn.Module):
    """Row and column statistics inside tiles: a row sum (a column vector) and a column max (a
    row vector) scaling a block-sparse product."""

    def forward(self, a, x):
        return (a @ x) * x.sum(1, keepdim=True) * x.amax(0, keepdim=True)


class VectorSum(torch.nn.Module):
    def forward(self, a, x, v):
        return (a @ x) * v.sum()


def _run(model, args, fusion, *, sparse=None, order=None, layouts=None):
    prog = fuseflow.compile(model, args, sparse=sparse, fusion=fusion, order=order, layouts=layouts)
    got = fuseflow.simulate(prog, args).outputs
    for g, w in zip(got, prog.reference(args), strict=True):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    return prog


def _tile_kinds(prog) -> set[str]:
    return set(re.findall(r'"sam.alu".*?kind = "(\w+)"', prog.stage("lowered")))


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("block", [2, 4])
@pytest.mark.parametrize("layout", ["bsr", "bsc"])
def test_block_sparse_matmul_every_order(layout, block, fusion):
    a = _block_sparse(8, 12, block, seed=block)
    a = a.to_sparse_bsr((block, block)) if layout == "bsr" else a.to_sparse_bsc((block, block))
    x = torch.rand(12, 8, generator=torch.Generator().manual_seed(1))
    prog = _run(MatMul(), (a, x), fusion)
    assert f"!sam.val<f32, array<i64: {block}, {block}>>" in prog.stage("lowered")
    (region,) = _run(MatMul(), (a, x), fusion, layouts="auto").regions  # x tiled in any level order
    assert len(region.orders) >= 2
    for index in range(len(region.orders)):
        _run(MatMul(), (a, x), fusion, order=index, layouts="auto")


@pytest.mark.parametrize("fusion", FUSIONS)
def test_blocked_weight_with_bias_and_relu(fusion):
    """``relu(x W^T + b)`` with W in BSR: a transposed tile product, the bias read as tiles."""
    w = _block_sparse(16, 12, 4).to_sparse_bsr((4, 4))
    x, b = torch.rand(8, 12), torch.rand(16)
    prog = _run(Linear(), (x, w, b), fusion)
    assert "matmul_nt" in _tile_kinds(prog) or "matmul_tn" in _tile_kinds(prog)


def test_tiling_a_runtime_input_is_a_relayout():
    """x and b arrive row-major and are read as tiles, the result is written as tiles and handed
    back row-major: three relayouts; a weight (a parameter) is tiled offline for free."""
    w = _block_sparse(16, 12, 4).to_sparse_bsr((4, 4))
    x, b = torch.rand(8, 12), torch.rand(16)
    prog = fuseflow.compile(Linear(), (x, w, b), fusion="full")
    res = fuseflow.simulate(prog, (x, w, b))
    assert set(res.relayouts) == {"main_region0 arg0", "main_region0 arg2", "result 0"}
    assert res.cycles == sum(res.region_cycles.values()) + sum(res.relayouts.values())

    class Biased(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.b = torch.nn.Parameter(b, requires_grad=False)

        def forward(self, x, w):
            return torch.relu(x @ w.t() + self.b)

    prog = fuseflow.compile(Biased(), (x, w), fusion="full")
    assert set(fuseflow.simulate(prog, (x, w)).relayouts) == {"main_region0 arg0", "result 0"}


def test_tiles_move_fewer_tokens_than_scalars():
    """The same block-sparse matrix as BSR and as CSR: the tile graph moves one token per block."""
    a = _block_sparse(16, 16, 4, density=0.3)
    x = torch.rand(16, 16)
    blocked = fuseflow.simulate(fuseflow.compile(MatMul(), (a.to_sparse_bsr((4, 4)), x)), (a.to_sparse_bsr((4, 4)), x))
    scalar = fuseflow.simulate(fuseflow.compile(MatMul(), (a.to_sparse_csr(), x)), (a.to_sparse_csr(), x))
    np.testing.assert_allclose(blocked.outputs[0], scalar.outputs[0], rtol=RTOL, atol=ATOL)
    assert blocked.totals()["tokens"] * 4 < scalar.totals()["tokens"]


@pytest.mark.parametrize("fusion", FUSIONS)
def test_sae_with_bsr_weights(fusion):
    w = workloads.sae(32, 8, 4)
    _run(w.model, w.args, fusion, sparse={"enc.weight": "bsr4", "dec.weight": "bsr4"})


@pytest.mark.parametrize("fusion", FUSIONS)
def test_gcn_with_blocked_adjacency(fusion):
    w = workloads.gcn(nodes=24, features=8, hidden=8, classes=4)
    _run(w.model, w.args, fusion, sparse={"adj": "bsr4"})


def test_block_size_that_does_not_divide_a_dense_operand_names_it():
    a = _block_sparse(8, 8, 4).to_sparse_bsr((4, 4))
    with pytest.raises(BlockingError, match=r"block size 4 does not divide dimension 1 \(size 6\) of input %arg1"):
        fuseflow.compile(MatMul(), (a, torch.rand(8, 6)))


@pytest.mark.parametrize("fusion", FUSIONS)
def test_reductions_inside_tiles(fusion):
    a = _block_sparse(8, 8, 4).to_sparse_bsr((4, 4))
    prog = _run(RowScaled(), (a, torch.rand(8, 8)), fusion, layouts="auto")
    if fusion == "full":
        assert {"row_sum", "col_max"} <= _tile_kinds(prog)


def test_reduction_of_a_vector_names_the_op():
    a = _block_sparse(8, 8, 4).to_sparse_bsr((4, 4))
    with pytest.raises(BlockingError, match=r"add_\w\(T2\[\w\]\) reduces over \w, which is not an axis of the matrix tiles"):
        fuseflow.compile(VectorSum(), (a, torch.rand(8, 8), torch.rand(8)), fusion="full")


@pytest.mark.parametrize("fusion", FUSIONS)
def test_graphsage_with_blocked_adjacency(fusion):
    """Mean aggregation: the degree is a row sum inside the adjacency's tiles (a vector result
    unfused), the features divided by it."""
    w = workloads.graphsage(nodes=24, features=8, hidden=8, classes=4)
    _run(w.model, w.args, fusion, sparse={"adj": "bsr4"})


def test_blocks_of_different_sizes_are_refused():
    a = _block_sparse(8, 8, 4).to_sparse_bsr((4, 4))
    b = _block_sparse(8, 8, 2).to_sparse_bsr((2, 2))
    with pytest.raises(BlockingError, match=r"blocked with different sizes \(%arg0 .*: 4, %arg1 .*: 2\)"):
        fuseflow.compile(MatMul(), (a, b))


def test_non_square_blocks_are_refused():
    a = _block_sparse(8, 8, 4).to_sparse_bsr((2, 4))
    with pytest.raises(BlockingError, match=r"blocks of 2 x 4 are not square"):
        fuseflow.compile(MatMul(), (a, torch.rand(8, 8)))


def test_cli_reports_a_blocking_error(tmp_path, capsys):
    """The CLI path: the same refusal as an ``error:`` line and exit status 1, no traceback."""
    from fuseflow.cli import main

    path = tmp_path / "bad_block.py"
    path.write_text(
        "import torch\n"
        "from fuseflow.workloads import Workload\n"
        "class MatMul(torch.nn.Module):\n"
        "    def forward(self, a, x):\n"
        "        return a @ x\n"
        "def workload():\n"
        "    a = torch.ones(8, 8).to_sparse_bsr((4, 4))\n"
        "    return Workload('bad_block', MatMul(), (a, torch.ones(8, 6)))\n")
    code = main(["compile", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "error:" in err and "does not divide dimension 1 (size 6)" in err and "Traceback" not in err


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("block", [4, 8, 16])
def test_gpt_block_with_bsr_mask(block, fusion):
    """Multi-head attention over a BSR BigBird mask: the heads are batch loops, Q K^T a transposed
    tile product, the masked softmax's row max and sum in-tile reductions, P V a tile product."""
    d_model = max(16, 2 * block)  # two heads of at least one block each
    w = workloads.gpt3_bigbird(d_model=d_model, heads=2, ffn=2 * d_model, seq=4 * block, block=block)
    prog = _run(w.model, w.args, fusion, sparse={"mask": f"bsr{block}"})
    # unfused, Q K^T is a region of its own that reads no blocked input: dense scalar scores
    assert {"row_max", "row_sum"} | ({"matmul_nt"} if fusion != "unfused" else set()) <= _tile_kinds(prog)


def test_block_option_reads_a_sparse_input_as_tiles():
    """``block={name: B}`` is the BSR (or BSC, for a column-major format) of that input."""
    from fuseflow.compiler import blocked_formats

    assert blocked_formats({"a": "csc", "w": "csr"}, {"a": 4, "w": 0, "m": 8}) == {"a": "bsc(4,4)", "w": "csr", "m": "bsr(8,8)"}
    a = _block_sparse(8, 12, 4).to_sparse_csr()
    x = torch.rand(12, 8)
    prog = fuseflow.compile(MatMul(), (a, x), block={"a": 4})
    assert "d0 floordiv 4 : dense, d1 floordiv 4 : compressed" in prog.stage("lowered")
    np.testing.assert_allclose(fuseflow.simulate(prog, (a, x)).outputs[0], (a.to_dense() @ x).numpy(), rtol=RTOL, atol=ATOL)
    for bad in ({"a": -1}, {"a": 2.5}, [("a", 4)]):
        with pytest.raises(fuseflow.errors.FuseflowError, match="block="):
            fuseflow.compile(MatMul(), (a, x), block=bad)


def test_cli_block_option(capsys):
    from fuseflow.cli import main

    assert main(["compile", "gpt3_bigbird", "--fusion", "full", "--block", "mask=8", "--simulate"]) == 0
    assert "outputs match PyTorch" in capsys.readouterr().err
    assert main(["compile", "gpt3_bigbird", "--block", "mask"]) == 1
    assert "use NAME=B" in capsys.readouterr().err


def test_fan_out_buffers_are_sized_in_blocks():
    """A fiber of 32 blocks per row fanned out to the softmax's max and subtraction: the buffer
    pass sizes those FIFOs from the block levels (sized as scalars' unknown levels, they were a
    single entry and the graph deadlocked)."""
    w = workloads.gpt3_bigbird(d_model=16, heads=2, ffn=32, seq=128, block=4)
    _run(w.model, w.args, "full", sparse={"mask": "bsr4"})


def test_block_choices_are_the_explorers_block_parameter(tmp_path):
    from fuseflow.explore import ExploreError, Explorer, block_choices
    from fuseflow.explore.run import explore, write_csv

    assert block_choices(None) == {"none": {}}
    assert block_choices({"mask": [0, 16], "enc.weight": [8]}) == {"enc_weight8": {"enc.weight": 8},
                                                                   "mask16_enc_weight8": {"mask": 16, "enc.weight": 8}}
    with pytest.raises(ExploreError, match="integers >= 0"):
        block_choices({"mask": [-4]})
    ex = Explorer(workloads.spmm(m=16, k=16, n=8), fusions=["full"], blocks={"a": [0, 4]})
    assert ex.space().params[1].name == "block" and ex.variants["block"] == ("none", "a4")
    scalar, blocked = (ex.evaluate({"fusion": "full", "block": b}) for b in ("none", "a4"))
    assert scalar.feasible and blocked.feasible and blocked.cycles != scalar.cycles
    assert "block=a4" in blocked.options_key and "block" not in scalar.options_key
    result = explore(ex, "exhaustive")
    assert {o.point["block"] for o in result.outcomes} == {"none", "a4"}
    assert "a4" in write_csv(result, tmp_path / "explore.csv").read_text()


@pytest.mark.parametrize("name", ["spmm", "sae", "gcn"])
def test_heuristic_counts_the_ops_of_blocked_programs(name):
    """The cost heuristic estimates blocked points (tiles of stored blocks, one node run per
    tile): its ops equal the simulator's under every fusion; pruning compares a point with its
    own block choice only."""
    from fuseflow.explore import Explorer
    from fuseflow.explore.heuristic import stored_blocks

    w, blocks = {"spmm": (workloads.spmm(m=32, k=32, n=16), {"a": [0, 4]}),
                 "sae": (workloads.sae(32, 8, 4), {"enc.weight": [0, 4], "dec.weight": [0, 4]}),
                 "gcn": (workloads.gcn(nodes=24, features=8, hidden=8, classes=4), {"adj": [0, 4]})}[name]
    ex = Explorer(w, blocks=blocks, prune=1.5)
    blocked = ex.variants["block"][-1]
    for fusion in FUSIONS:
        point = {"fusion": fusion, "block": blocked}
        est = ex.estimate(point)
        ops = fuseflow.simulate(ex.program(ex.options(point), blocked), w.args).totals()["ops"]
        assert est is not None and est.ops == ops, fusion
    # every choice has its own reference; none prunes its own cheapest point
    refs = {b: ex.reference_work(b) for b in ex.variants["block"]}
    assert all(r is not None for r in refs.values()) and refs["none"] != refs[blocked]
    cheapest = min((ex.estimate({"fusion": f, "block": blocked}).work, f) for f in FUSIONS)[1]
    assert not ex.pruned(ex.estimate({"fusion": cheapest, "block": blocked}), blocked)
    a = np.zeros((4, 6))
    a[0, 1], a[3, 5] = 2.0, -1.0
    np.testing.assert_array_equal(stored_blocks(a, 2), [[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0],
                                                        [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1]])
