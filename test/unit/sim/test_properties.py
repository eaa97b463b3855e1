"""Property tests: random tensors and random token streams give identical results in the
compiled engine and the functional model (and bounded FIFOs never change outputs)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from conftest import run_prim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuseflow.sim import HardwareConfig, examples, functional, simulate_graph
from fuseflow.sim.graph import StreamKind
from fuseflow.sim.tensors import from_value
from fuseflow.sim.tokens import same_stream

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sparse_matrix(draw, max_dim=6):
    m = draw(st.integers(0, max_dim))
    n = draw(st.integers(1, max_dim))
    density = draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]))
    seed = draw(st.integers(0, 10_000))
    return sp.random(m, n, density=density, random_state=seed, format="csr")


@st.composite
def tensor_streams(draw):
    """The crd, ref and value streams of scanning a random 3-level tensor (valid by construction,
    with empty fibers at every level)."""
    dims = [draw(st.integers(1, 4)) for _ in range(3)]
    fmt = draw(st.sampled_from(["ccc", "dcc", "cdc", "dcd"]))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    dense = rng.random(dims) * (rng.random(dims) < draw(st.sampled_from([0.0, 0.3, 0.7])))
    t = from_value("T", dense, fmt)
    c0, r0 = functional.fiber_lookup(functional.root(), t.levels[0])
    c1, r1 = functional.fiber_lookup(r0, t.levels[1])
    c2, r2 = functional.fiber_lookup(r1, t.levels[2])
    vals = functional.array(r2, t.vals)
    return t, (c0, r0), (c1, r1), (c2, r2), vals


DEPTHS = st.sampled_from([0, 2, 3, 5])


@SETTINGS
@given(sparse_matrix(), sparse_matrix(), DEPTHS, st.sampled_from(["spmm_ikj", "spmm_ijk", "spmm_kij"]))
def test_random_spmm(a, b, depth, kernel):
    k = a.shape[1]
    b = sp.random(k, b.shape[1], density=0.4, random_state=b.nnz, format="csr")
    simulate_graph(examples.graph(kernel), {"A": a, "B": b}, hw=HardwareConfig(fifo_depth=depth), check=True, expected=(a @ b).toarray())


@SETTINGS
@given(sparse_matrix(), st.integers(0, 1000), DEPTHS, st.sampled_from(["add", "mul"]))
def test_random_elementwise_and_sddmm(a, seed, depth, kernel):
    b = sp.random(*a.shape, density=0.4, random_state=seed, format="csr")
    hw = HardwareConfig(fifo_depth=depth)
    want = (a + b) if kernel == "add" else a.multiply(b)
    simulate_graph(examples.graph(kernel), {"A": a, "B": b}, hw=hw, check=True, expected=want.toarray())
    rng = np.random.default_rng(seed)
    da, db = rng.random((a.shape[0], 3)), rng.random((a.shape[1], 3))
    simulate_graph(examples.graph("sddmm"), {"S": a, "A": da, "B": db}, hw=hw, check=True, expected=a.multiply(da @ db.T).toarray())


def both(build, streams, tensors=()):
    ref = run_prim("functional", build, streams, tensors)
    eng = run_prim("compiled", build, streams, tensors)
    assert len(ref) == len(eng)
    for r, e in zip(ref, eng, strict=True):
        assert same_stream(r, e), f"reference {r} != engine {e}"
    return ref


@SETTINGS
@given(tensor_streams(), st.integers(1, 3))
def test_random_streams_engine_equals_reference(ts, lanes):
    t, (c0, r0), (c1, r1), (c2, r2), vals = ts
    CRD, REF, VAL = StreamKind.CRD, StreamKind.REF, StreamKind.VAL
    # scanners, array loads, reductions, ALUs
    both(lambda b, s, ti: [*b.fiber_lookup(s[0], ti[0], 2)], [(r1, REF)], [t])
    both(lambda b, s, ti: b.array(s[0], ti[0]), [(r2, REF)], [t])
    for op in ("add", "max", "min"):
        both(lambda b, s, ti, op=op: b.reduce(s[0], op), [(vals, VAL)])
    both(lambda b, s, ti: b.alu("sub", s[0], b.alu("exp", s[1])), [(vals, VAL), (vals, VAL)])
    # joiners of a stream with itself and with its own coordinates shifted
    both(lambda b, s, ti: b.intersect([(s[0], s[1]), (s[2], s[3])]), [(c2, CRD), (r2, REF), (c2, CRD), (r2, REF)])
    both(lambda b, s, ti: b.union([(s[0], s[1]), (s[2], s[3])]), [(c2, CRD), (r2, REF), (c2, CRD), (r2, REF)])
    # broadcast the level-1 refs over level 2, hold/drop coordinates, accumulate
    both(lambda b, s, ti: b.repeat(s[0], b.repeat_sig_gen(s[1])), [(r1, REF), (c2, CRD)])
    both(lambda b, s, ti: [*b.crd_hold(s[0], s[1])], [(c1, CRD), (c2, CRD)])
    both(lambda b, s, ti: [*b.crd_drop(s[0], s[1])], [(c1, CRD), (c2, CRD)])
    both(lambda b, s, ti: [*b.spacc1(s[0], s[1], s[2])], [(c2, CRD), (c1, CRD), (vals, VAL)])
    both(lambda b, s, ti: [*b.spacc2(s[0], s[1], s[2], s[3])], [(c2, CRD), (c1, CRD), (c0, CRD), (vals, VAL)])
    # parallel lanes: fork the level-1 refs, scan level 2 per lane, join == serial scan
    out = both(lambda b, s, ti: [b.join([b.fiber_lookup(x, ti[0], 2)[0] for x in b.fork(s[0], lanes)], depth=1)], [(r1, REF)], [t])
    assert out[0] == c2
    out = both(lambda b, s, ti: [b.join(b.fork(s[0], lanes))], [(vals, VAL)])
    assert same_stream(out[0], vals)
