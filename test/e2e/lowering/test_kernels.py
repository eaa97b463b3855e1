"""Proof by execution: every kernel, compiled in every legal dataflow order, simulated by the
functional model, equals PyTorch eager."""

import numpy as np
import pytest
import torch
from kernels import KERNELS, Fn, dense, sparse

from fuseflow.compiler import compile
from fuseflow.passes.lowering import InfeasibleOrder

RTOL, ATOL = 1e-4, 1e-5


def _check(prog, args, engine="functional"):
    want = prog.reference(args)
    got = prog.run(args, engine=engine).outputs
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


def _all_orders(fn, args, fmts, fusion, layouts=None):
    """The program in every legal order of its largest region, by index (the default order is
    the best one on dense bounds; index 0 is the first legal order)."""
    prog = compile(Fn(fn), args, sparse=fmts, fusion=fusion, order=0, layouts=layouts)
    yield prog
    region_orders = [r.orders for r in prog.regions]
    for k in range(1, max(len(o) for o in region_orders)):
        order = [str(min(k, len(o) - 1)) for o in region_orders]
        yield compile(Fn(fn), args, sparse=fmts, fusion=fusion, order=order, layouts=layouts)


@pytest.mark.parametrize("name", [k for k in KERNELS if k != "chain"])
@pytest.mark.parametrize(("fusion", "layouts"), [("unfused", None), ("full", None), ("full", "auto")])
def test_kernel_in_every_order(name, fusion, layouts):
    fn, make, fmts = KERNELS[name]
    args = make()
    n = 0
    for prog in _all_orders(fn, args, fmts, fusion, layouts):
        _check(prog, args)
        n += 1
    assert n >= 1
    if layouts == "auto":  # a dense input's level order constrains nothing: at least as many orders
        declared = compile(Fn(fn), args, sparse=fmts, fusion=fusion, order=0)
        assert len(prog.regions[0].orders) >= len(declared.regions[0].orders)


def test_kernel_orders_are_distinct_graphs():
    fn, make, fmts = KERNELS["spmm_csc"]
    args = make()
    progs = list(_all_orders(fn, args, fmts, "full"))
    assert [p.regions[0].order for p in progs] == ["k,i,j", "k,j,i"]
    assert progs[0].stage("lowered") != progs[1].stage("lowered")
    assert "sam.spacc" in progs[0].stage("lowered")  # j innermost after the reduction: spacc
    assert "sam.spacc" in progs[1].stage("lowered")


def test_chain_unfused_and_fused_in_every_legal_order():
    fn = KERNELS["chain"][0]
    args = (sparse((8, 10), 0.3, 0), dense((10, 6), 1), dense((6, 5), 2))
    for prog in _all_orders(fn, args, {}, "unfused"):
        _check(prog, args)
    # fused, with row-major operands: storage fixes i,k,l,j; both reductions are followed by a
    # variable they depend on, so each is an order-1 sparse accumulator, one nested in the other
    (prog,) = _all_orders(fn, args, {}, "full")
    assert prog.regions[0].order == "i,k,l,j"
    assert prog.stage("lowered").count("sam.spacc") == 2
    _check(prog, args)
    _check(prog, args, engine="cycle")
    # fused, with the middle operand stored column-major: five legal orders, three distinct
    # graphs (where j sits relative to k does not matter: j is not in the inner reduction's scope)
    fmts = {"arg1": "d1:dense,d0:dense"}
    progs = list(_all_orders(fn, args, fmts, "full"))
    assert [p.regions[0].order for p in progs] == ["i,l,j,k", "l,i,j,k", "l,j,i,k"]
    for prog in progs:
        _check(prog, args)


def test_explicit_order_by_permutation_and_illegal_order():
    fn, make, fmts = KERNELS["spmm_csc"]
    args = make()
    prog = compile(Fn(fn), args, sparse=fmts, fusion="full", order={"region0": "k,j,i"})
    assert prog.regions[0].order == "k,j,i"
    _check(prog, args)
    with pytest.raises(InfeasibleOrder, match="i,k,j is illegal"):
        compile(Fn(fn), args, sparse=fmts, fusion="full", order={"region0": "ikj"})


def test_a_refused_compile_dumps_no_repro(tmp_path, monkeypatch):
    """A refusal says why; only failures that need reproducing leave a dump (an explorer that
    meets thousands of illegal orders must not fill the temp folder)."""
    monkeypatch.setenv("FUSEFLOW_REPRO_DIR", str(tmp_path))
    fn, make, fmts = KERNELS["spmm_csc"]
    with pytest.raises(InfeasibleOrder):
        compile(Fn(fn), make(), sparse=fmts, fusion="full", order={"region0": "ikj"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("optimize", [True, False])
def test_compressed_output_after_an_intersection_drops_empty_fibers(optimize):
    """DCSR * DCSR: rows both store but whose columns do not meet are dropped (crd_drop), so
    the written tensor is canonical: every stored row has a stored entry."""
    from fuseflow.sim import simulate_graph

    a = sparse((12, 10), 0.2, 0, layout="dense")
    b = sparse((12, 10), 0.2, 5, layout="dense")
    b[:, 5:] = 0.0
    a[:, :5] = a[:, :5] * (torch.arange(12) % 2 == 0).unsqueeze(1)  # odd rows meet b nowhere
    args = (a.to_sparse_csr(), b.to_sparse_csr())
    fmts = {"arg0": "dcsr", "arg1": "dcsr"}
    prog = compile(Fn(lambda x, y: x * y), args, sparse=fmts, fusion="full", optimize=optimize)
    assert "sam.crd_drop" in prog.stage("lowered")
    _check(prog, args)
    run = simulate_graph(prog.region_graph(prog.regions[0].name), list(args), engine="functional")
    (out,) = run.tensors.values()  # the graph's one output, as written
    rows, cols = out.levels[0], out.levels[1]
    assert len(rows.crd) == int(((a * b) != 0).any(1).sum())  # only rows with an entry
    assert all(cols.seg[n + 1] > cols.seg[n] for n in range(len(rows.crd)))
    # a CSR output (dense rows) keeps every row: no crd_drop
    prog = compile(Fn(lambda x, y: x * y), args, fusion="full", optimize=optimize)
    assert "sam.crd_drop" not in prog.stage("lowered")
