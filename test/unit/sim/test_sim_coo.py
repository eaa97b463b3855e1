"""COO tensors: compressed(nonunique) and singleton levels, packed, scanned by both engines on
hand-written token vectors, and used end to end (union / intersect of two COO matrices)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import run_prim

from fuseflow.errors import FuseflowError
from fuseflow.sim import GraphBuilder, HardwareConfig, simulate_graph
from fuseflow.sim.graph import StreamKind
from fuseflow.sim.tensors import _as_coo, from_coo, from_value
from fuseflow.sim.tokens import parse, same_stream

REF = StreamKind.REF
M = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]])


def check(got, *want_texts):
    assert len(got) == len(want_texts)
    for k, (g, w) in enumerate(zip(got, want_texts, strict=True)):
        assert same_stream(g, parse(w)), f"port {k}: got {g}, want {w}"


def coo():
    return from_value("A", M, "ns")


def test_coo_packing():
    t = coo()
    l0, l1 = t.levels
    assert t.format == "ns"
    assert l0.seg.tolist() == [0, 3] and l0.crd.tolist() == [0, 0, 2] and l0.run_end.tolist() == [2, 2, 3]
    assert l1.crd.tolist() == [0, 2, 1] and l1.span_end.tolist() == [2, 2, 3] and l1.seg is None
    assert t.vals.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(t.to_dense(), M)


@pytest.mark.parametrize("fmt", ["ns", "nts", "ntt", "cns", "dns", "nsc"])
def test_packing_round_trips(fmt):
    rng = np.random.default_rng(1)
    x = rng.random((4, 5, 6)) * (rng.random((4, 5, 6)) < 0.3) if len(fmt) == 3 else M
    np.testing.assert_array_equal(from_value("X", x, fmt).to_dense(), x)


@pytest.mark.parametrize("shape", [(3,), (4, 5), (2, 3, 4), (5, 0)])
def test_dense_arrays_bind_as_their_nonzeros_would(shape):
    """A numpy array bound all-dense takes its values without the COO round trip: the same
    levels and values as ``from_coo`` over its nonzeros (a -0.0 entry becomes +0.0 there too),
    in every mode order."""
    import itertools

    rng = np.random.default_rng(1)
    x = rng.random(shape) * (rng.random(shape) < 0.7)
    if x.size:
        x.flat[0] = -0.0
    for order in itertools.permutations(range(len(shape))):
        got = from_value("X", x, None, order)
        want = from_coo("X", *_as_coo(x), "d" * len(shape), order)
        assert (got.shape, got.order, [(lv.format, lv.dim) for lv in got.levels]) == \
            (want.shape, want.order, [(lv.format, lv.dim) for lv in want.levels])
        assert got.vals.dtype == want.vals.dtype and got.vals.tobytes() == want.vals.tobytes()
        np.testing.assert_array_equal(got.to_dense(), x)


def test_singleton_needs_one_entry_per_parent_position():
    with pytest.raises(FuseflowError, match="singleton level 1 needs exactly one entry"):
        from_value("A", M, "cs")  # row 0 holds two entries
    one = np.array([[0.0, 4.0, 0.0], [7.0, 0.0, 0.0]])
    t = from_value("B", one, "ds")
    assert t.levels[1].crd.tolist() == [1, 0] and t.levels[1].span_end.tolist() == [1, 2]


# A nonunique level emits each run of duplicates once (ref = the run's first position); the child
# singleton level emits one coordinate per position of that run; stops follow the stop rule.
NONUNIQUE_CASES = [
    ("0 D", "0 2 S0 D", "0 2 S0 D"),
    ("S0 0 S1 D", "S1' 0 2 S2 D", "S1' 0 2 S2 D"),
    ("N S0 D", "N S1 D", "N S1 D"),
]
SINGLETON_CASES = [
    ("0 2 S0 D", "0 2 S0 1 S1 D", "0 1 S0 2 S1 D"),  # run [0, 2) then run [2, 3)
    ("0 N 2 S0 D", "0 2 S0 N S0 1 S1 D", "0 1 S0 N S0 2 S1 D"),
    ("2 S0 0 S1 D", "1 S1 0 2 S2 D", "2 S1 0 1 S2 D"),
    ("S1' 2 S1 D", "S2'' 1 S2 D", "S2'' 2 S2 D"),
    ("D", "D", "D"),
]


@pytest.mark.parametrize("refs,crd,ref", NONUNIQUE_CASES)
def test_nonunique_compressed_lookup(engine, refs, crd, ref):
    check(run_prim(engine, lambda b, s, t: b.fiber_lookup(s[0], t[0], 0), [(refs, REF)], [coo()]), crd, ref)


@pytest.mark.parametrize("refs,crd,ref", SINGLETON_CASES)
def test_singleton_lookup(engine, refs, crd, ref):
    check(run_prim(engine, lambda b, s, t: b.fiber_lookup(s[0], t[0], 1), [(refs, REF)], [coo()]), crd, ref)


def test_singleton_under_a_unique_parent(engine):
    t = from_value("B", np.array([[0.0, 4.0, 0.0], [7.0, 0.0, 0.0]]), "ds")
    check(run_prim(engine, lambda b, s, tt: b.fiber_lookup(s[0], tt[0], 1), [("0 1 S0 D", REF)], [t]), "1 S0 0 S1 D", "0 S0 1 S1 D")


def test_singleton_reference_out_of_range(engine):
    with pytest.raises(FuseflowError, match="out of range"):
        run_prim(engine, lambda b, s, t: b.fiber_lookup(s[0], t[0], 1), [("7 S0 D", REF)], [coo()])


def coo_binary(fmt, rank, union):
    """out = A (+|*) B over two tensors in format ``fmt``, compressed output (all levels)."""
    b = GraphBuilder("coo_add" if union else "coo_mul")
    A, B = b.input("A", fmt), b.input("B", fmt)
    out = b.output("out", "c" * rank, shape=tuple(("A", d) for d in range(rank)))
    ra, rb = b.root(), b.root()
    join = b.union if union else b.intersect
    crds = []
    for lv in range(rank):
        crd, (ra, rb) = join([b.fiber_lookup(ra, A, lv), b.fiber_lookup(rb, B, lv)])
        crds.append(crd)
    if union:
        for lv, crd in enumerate(crds):
            b.fiber_write(crd, out, lv)
    else:  # an intersection may leave outer coordinates with empty fibers: drop them
        outer = crds[0]
        for lv in range(1, rank):
            outer, inner = b.crd_drop(outer, crds[lv])
            b.fiber_write(outer, out, lv - 1)
            outer = inner
        b.fiber_write(outer, out, rank - 1)
    b.val_write(b.alu("add" if union else "mul", b.array(ra, A), b.array(rb, B)), out)
    return b.build()


@pytest.mark.parametrize("union", [True, False])
@pytest.mark.parametrize("fmt", ["ns", "nts", "ntt"])
def test_coo_add_and_mul_end_to_end(union, fmt):
    rank = len(fmt)
    rng = np.random.default_rng(7)
    shape = (6, 5, 4)[:rank]
    x = rng.random(shape) * (rng.random(shape) < 0.4)
    y = rng.random(shape) * (rng.random(shape) < 0.4)
    g = coo_binary(fmt, rank, union)
    want = x + y if union else x * y
    for engine in ("functional", "compiled"):
        for hw in (HardwareConfig(fifo_depth=2), HardwareConfig()):
            res = simulate_graph(g, {"A": x, "B": y}, hw=hw, engine=engine)
            got = res.outputs["out"]
            np.testing.assert_allclose(got.toarray() if sp.issparse(got) else got, want)


def test_nonunique_scan_cycles():
    # memory off: a run of duplicates costs one step like any coordinate; 2 distinct rows -> 2 + 4
    b = GraphBuilder("scan")
    A = b.input("A", "ns")
    crd, _ = b.fiber_lookup(b.root(), A, 0)
    b.sink(crd, "crd")
    res = simulate_graph(b.build(), {"A": coo()}, hw=HardwareConfig(memory=False, fifo_depth=0))
    assert res.cycles == 6


def test_locate_rejects_singleton_levels():
    b = GraphBuilder("loc")
    A, x = b.input("A", "ns"), b.input("x", "d")
    i, ri = b.fiber_lookup(b.root(), x, 0)
    _, loc, _ = b.locate(i, ri, b.root(), A, 1)
    b.sink(loc, "loc")
    with pytest.raises(FuseflowError, match="locate needs a dense or compressed level"):
        simulate_graph(b.build(), {"A": coo(), "x": np.ones(3)})


def test_duplicate_entries_are_summed():
    from fuseflow.sim.tensors import from_coo

    t = from_coo("A", np.array([[0, 2, 0], [1, 0, 1]]), np.array([1.0, 3.0, 4.0]), (3, 2), "ns")
    assert t.levels[0].crd.tolist() == [0, 2] and t.levels[1].crd.tolist() == [1, 0]
    assert t.vals.tolist() == [5.0, 3.0]
