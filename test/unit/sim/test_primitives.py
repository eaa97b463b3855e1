"""Every primitive on hand-written token vectors, against the functional model and the engine.

Stop notation: ``S1'`` is a vacant stop (closes no fiber at its innermost level, see
fuseflow.sim.tokens); ``N`` is the empty token, ``R`` a repeat signal.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_prim

from fuseflow.sim.graph import StreamKind
from fuseflow.sim.tensors import Level, TensorData
from fuseflow.sim.tokens import DONE, Stop, parse, same_stream

CRD, REF, VAL, SIG = StreamKind.CRD, StreamKind.REF, StreamKind.VAL, StreamKind.REPSIG


def T(text, val=False):
    return parse(text, val=val)


def check(got, *want_texts, val_ports=()):
    assert len(got) == len(want_texts)
    for k, (g, w) in enumerate(zip(got, want_texts, strict=True)):
        want = T(w, val=k in val_ports)
        assert same_stream(g, want), f"port {k}: got {g}, want {want}"


def csr_tensor():
    # [[5 7 .] [. . .] [. . 9]] as levels: dense 3, compressed seg [0,2,2,3] crd [0,1,2]
    return TensorData("A", (3, 3), (0, 1), [Level("d", 3), Level("c", 3, np.array([0, 2, 2, 3]), np.array([0, 1, 2]))], np.array([5.0, 7.0, 9.0]))


# -- the examples of SAM_SEMANTICS.md, verbatim ---------------------------------------------
def test_semantics_csr_scan_example(engine):
    A = csr_tensor()

    def build(b, srcs, t):
        c0, r0 = b.fiber_lookup(b.root(), t[0], 0)
        c1, r1 = b.fiber_lookup(r0, t[0], 1)
        return [c0, r0, c1]

    check(run_prim(engine, build, [], [A]), "0 1 2 S0 D", "0 1 2 S0 D", "0 1 S0 S0 2 S1 D")


def test_semantics_repeat_example(engine):
    got = run_prim(engine, lambda b, s, t: b.repeat(s[0], s[1]), [("0 1 S0 2 S0 3 S1 D", REF), ("R R R S R R R S R S R R S D", SIG)])
    check(got, "0 0 0 S0 1 1 1 S1 2 S1 3 3 S2 D")


def test_semantics_reduce_example(engine):
    got = run_prim(engine, lambda b, s, t: b.reduce(s[0]), [("1 2 S0 3 S1 D", VAL)])
    check(got, "3 3 S0 D", val_ports=(0,))


# -- fiber_lookup ---------------------------------------------------------------------------
SCAN_CASES = [
    ("0 1 2 S0 D", "0 1 S0 S0 2 S1 D", "0 1 S0 S0 2 S1 D"),
    ("1 S0 2 S1 D", "S1 2 S2 D", "S1 2 S2 D"),  # empty fiber merges with the following stop
    ("S0 0 S1 D", "S1' 0 1 S2 D", "S1' 0 1 S2 D"),  # a stop with no preceding fiber is vacant
    ("S1' 2 S1 D", "S2'' 2 S2 D", "S2'' 2 S2 D"),
    ("N S0 D", "N S1 D", "N S1 D"),
    ("0 N 2 S0 D", "0 1 S0 N S0 2 S1 D", "0 1 S0 N S0 2 S1 D"),
    ("D", "D", "D"),  # an empty stream
]


@pytest.mark.parametrize("refs,crd,ref", SCAN_CASES)
def test_compressed_fiber_lookup(engine, refs, crd, ref):
    got = run_prim(engine, lambda b, s, t: b.fiber_lookup(s[0], t[0], 1), [(refs, REF)], [csr_tensor()])
    check(got, crd, ref)


def test_dense_fiber_lookup(engine):
    A = TensorData("A", (2, 2), (0, 1), [Level("d", 2), Level("d", 2)], np.arange(4.0))
    got = run_prim(engine, lambda b, s, t: b.fiber_lookup(s[0], t[0], 1), [("0 1 S0 D", REF)], [A])
    check(got, "0 1 S0 0 1 S1 D", "0 1 S0 2 3 S1 D")


def test_scan_of_an_empty_tensor(engine):
    E = TensorData("A", (0, 4), (0, 1), [Level("c", 0, np.array([0, 0]), np.zeros(0, np.int64)), Level("c", 4, np.array([0]), np.zeros(0, np.int64))], np.zeros(0))

    def build(b, srcs, t):
        c0, r0 = b.fiber_lookup(b.root(), t[0], 0)
        c1, _ = b.fiber_lookup(r0, t[0], 1)
        return [c0, c1]

    check(run_prim(engine, build, [], [E]), "S0 D", "S1' D")


# -- locate ---------------------------------------------------------------------------------
def test_locate_dense_and_compressed(engine):
    dense = TensorData("B", (2, 3), (0, 1), [Level("d", 2), Level("d", 3)], np.arange(6.0))
    got = run_prim(engine, lambda b, s, t: b.locate(s[0], s[1], s[2], t[0], 1),
                   [("0 2 S0 N S1 D", CRD), ("10 11 S0 12 S1 D", REF), ("1 1 S0 D", REF)], [dense])
    check(got, "10 11 S0 12 S1 D", "3 5 S0 N S1 D", "0 2 S0 N S1 D")
    comp = TensorData("C", (2, 3), (0, 1), [Level("d", 2), Level("c", 3, np.array([0, 1, 3]), np.array([1, 0, 2]))], np.arange(3.0))
    got = run_prim(engine, lambda b, s, t: b.locate(s[0], s[1], s[2], t[0], 1),
                   [("0 1 2 S1 S1' 1 S2 D", CRD), ("7 8 9 S1 S1' 4 S2 D", REF), ("1 S0 S0 0 S1 D", REF)], [comp])
    check(got, "7 8 9 S1 S1' 4 S2 D", "1 N 2 S1 S1' 0 S2 D", "0 1 2 S1 S1' 1 S2 D")


# -- joiners --------------------------------------------------------------------------------
def test_intersect(engine):
    got = run_prim(engine, lambda b, s, t: b.intersect([(s[0], s[1]), (s[2], s[3])]),
                   [("0 2 3 S0 1 S1 D", CRD), ("10 11 12 S0 13 S1 D", REF), ("2 3 4 S0 S1 D", CRD), ("20 21 22 S0 S1 D", REF)])
    check(got, "2 3 S0 S1 D", "11 12 S0 S1 D", "20 21 S0 S1 D")


def test_intersect_skips_empty_tokens_and_handles_all_empty(engine):
    got = run_prim(engine, lambda b, s, t: b.intersect([(s[0], s[1]), (s[2], s[3])]),
                   [("N S0 D", CRD), ("N S0 D", REF), ("1 2 S0 D", CRD), ("5 6 S0 D", REF)])
    check(got, "S0 D", "S0 D", "S0 D")
    got = run_prim(engine, lambda b, s, t: b.intersect([(s[0], s[1]), (s[2], s[3])]),
                   [("D", CRD), ("D", REF), ("D", CRD), ("D", REF)])
    check(got, "D", "D", "D")


def test_three_way_intersect(engine):
    got = run_prim(engine, lambda b, s, t: b.intersect([(s[0], s[1]), (s[2], s[3]), (s[4], s[5])]),
                   [("1 2 5 S0 D", CRD), ("1 2 5 S0 D", REF), ("2 5 S0 D", CRD), ("2 5 S0 D", REF), ("0 5 S0 D", CRD), ("0 5 S0 D", REF)])
    check(got, "5 S0 D", "5 S0 D", "5 S0 D", "5 S0 D")


def test_union(engine):
    got = run_prim(engine, lambda b, s, t: b.union([(s[0], s[1]), (s[2], s[3])]),
                   [("0 2 S0 S1 D", CRD), ("10 11 S0 S1 D", REF), ("1 2 S0 3 S1 D", CRD), ("20 21 S0 22 S1 D", REF)])
    check(got, "0 1 2 S0 3 S1 D", "10 N 11 S0 N S1 D", "N 20 21 S0 22 S1 D")


def test_union_with_an_empty_operand(engine):
    got = run_prim(engine, lambda b, s, t: b.union([(s[0], s[1]), (s[2], s[3])]),
                   [("N S0 D", CRD), ("N S0 D", REF), ("4 S0 D", CRD), ("40 S0 D", REF)])
    check(got, "4 S0 D", "N S0 D", "40 S0 D")


def test_joiner_rejects_disagreeing_stops(engine):
    with pytest.raises(Exception, match="stops disagree"):
        run_prim(engine, lambda b, s, t: b.intersect([(s[0], s[1]), (s[2], s[3])]),
                 [("1 S0 D", CRD), ("1 S0 D", REF), ("1 S1 D", CRD), ("1 S1 D", REF)])


# -- repeat ---------------------------------------------------------------------------------
def test_repeat_sig_gen(engine):
    check(run_prim(engine, lambda b, s, t: b.repeat_sig_gen(s[0]), [("0 N S0 1 S1' D", CRD)]), "R R S0 R S1' D")


@pytest.mark.parametrize("inp,sig,want", [
    ("0 1 S0 D", "R S S D", "0 S0 S1 D"),  # an empty repeated fiber
    ("S0 D", "S D", "S1' D"),  # an empty outer fiber
    ("4 S0 S0 5 S1 D", "R R S S R S D", "4 4 S1 S1' 5 S2 D"),
    ("D", "D", "D"),
])
def test_repeat_edge_cases(engine, inp, sig, want):
    check(run_prim(engine, lambda b, s, t: b.repeat(s[0], s[1]), [(inp, REF), (sig, SIG)]), want)


def test_repeat_of_values(engine):
    got = run_prim(engine, lambda b, s, t: b.repeat(s[0], s[1]), [("1.5 2.5 S0 D", VAL), ("R R S R S D", SIG)])
    check(got, "1.5 1.5 S0 2.5 S1 D", val_ports=(0,))


# -- values ---------------------------------------------------------------------------------
def test_array_load(engine):
    A = csr_tensor()
    check(run_prim(engine, lambda b, s, t: b.array(s[0], t[0]), [("0 N 2 S0 S1 D", REF)], [A]), "5 0 9 S0 S1 D", val_ports=(0,))


def test_alu_binary_with_empty(engine):
    got = run_prim(engine, lambda b, s, t: b.alu("mul", s[0], s[1]), [("1 2 S0 N S1 D", VAL), ("3 4 S0 5 S1 D", VAL)])
    check(got, "3 8 S0 0 S1 D", val_ports=(0,))


@pytest.mark.parametrize("op,const,inp,want", [
    ("neg", 0, "1 -2 S0 D", "-1 2 S0 D"),
    ("relu", 0, "1 -2 S0 D", "1 0 S0 D"),
    ("exp", 0, "0 1 S0 D", f"1 {np.e} S0 D"),
    ("addc", 2.0, "1 N S0 D", "3 2 S0 D"),
    ("mulc", 3.0, "1 2 S0 D", "3 6 S0 D"),
    ("maxc", 1.5, "1 2 S0 D", "1.5 2 S0 D"),
    ("rsqrt", 0, "4 S0 D", "0.5 S0 D"),
    ("sigmoid", 0, "0 S0 D", "0.5 S0 D"),
    ("rcp", 0, "4 -0.5 S0 D", "0.25 -2 S0 D"),
    # exact (erf) GELU, as torch.nn.functional.gelu: gelu(1) = 0.8413447460685429
    ("gelu", 0, "1 -1 0 S0 D", "0.8413447460685429 -0.15865525393145707 0 S0 D"),
])
def test_alu_unary(engine, op, const, inp, want):
    check(run_prim(engine, lambda b, s, t: b.alu(op, s[0], const=const), [(inp, VAL)]), want, val_ports=(0,))


@pytest.mark.parametrize("op,inp,want", [
    ("add", "1 S0 S0 2 S1 D", "1 0 2 S0 D"),  # an empty fiber gives the identity
    ("add", "1 S1 S1' D", "1 S0 S0 D"),  # a vacant stop closes no fiber: no value
    ("add", "S1 D", "0 S0 D"),
    ("max", "-1 -5 S0 S1 D", "-1 -inf S0 D"),
    ("min", "3 1 2 S1 D", "1 S0 D"),
    ("add", "1 2 S2 D", "3 S1 D"),
    ("add", "D", "D"),
])
def test_reduce(engine, op, inp, want):
    check(run_prim(engine, lambda b, s, t: b.reduce(s[0], op), [(inp, VAL)]), want, val_ports=(0,))


def test_tile_valued_stream(engine):
    t1, t2 = np.arange(4.0).reshape(2, 2), np.ones((2, 2))
    got = run_prim(engine, lambda b, s, t: b.reduce(b.alu("matmul", s[0], s[1])),
                   [([t1, t2, parse("S0")[0], parse("D")[0]], VAL), ([t2, t1, parse("S0")[0], parse("D")[0]], VAL)])
    want = [t1 @ t2 + t2 @ t1, parse("D")[0]]
    assert same_stream(got[0], want)


@pytest.mark.parametrize("kind, fn", [
    ("matmul_nt", lambda a, b: a @ b.T),
    ("matmul_tn", lambda a, b: a.T @ b),
    ("matmul_tt", lambda a, b: a.T @ b.T),
])
def test_transposed_tile_products(engine, kind, fn):
    t1, t2 = np.arange(4.0).reshape(2, 2), np.array([[1.0, -2.0], [3.0, 5.0]])
    stop, done = parse("S0")[0], parse("D")[0]
    got = run_prim(engine, lambda b, s, t: b.reduce(b.alu(kind, s[0], s[1])),
                   [([t1, t2, stop, done], VAL), ([t2, t1, stop, done], VAL)])
    assert same_stream(got[0], [fn(t1, t2) + fn(t2, t1), done])


@pytest.mark.parametrize("kind, fn", [
    ("row_sum", lambda t: t.sum(axis=1, keepdims=True)),
    ("row_max", lambda t: t.max(axis=1, keepdims=True)),
    ("row_min", lambda t: t.min(axis=1, keepdims=True)),
    ("col_sum", lambda t: t.sum(axis=0, keepdims=True)),
    ("col_max", lambda t: t.max(axis=0, keepdims=True)),
    ("col_min", lambda t: t.min(axis=0, keepdims=True)),
    ("transpose", lambda t: t.T),
])
def test_in_tile_operations(engine, kind, fn):
    """Each tile of a stream reduced along a row / column (or transposed); stops, an empty fiber
    and done pass through; the results are then summed across blocks as tiles."""
    t1, t2 = np.array([[1.0, -2.0], [3.0, 5.0]]), np.array([[0.5, 4.0], [-1.0, 2.0]])
    s0, s1, done = parse("S0")[0], parse("S1")[0], parse("D")[0]
    got = run_prim(engine, lambda b, s, t: b.alu(kind, s[0]), [([t1, t2, s0, s1, done], VAL)])
    assert same_stream(got[0], [fn(t1), fn(t2), s0, s1, done])
    summed = run_prim(engine, lambda b, s, t: b.reduce(b.alu(kind, s[0])), [([t1, t2, s0, done], VAL)])
    assert same_stream(summed[0], [fn(t1) + fn(t2), done])


# -- accumulators ---------------------------------------------------------------------------
def test_spacc1(engine):
    got = run_prim(engine, lambda b, s, t: b.spacc1(s[0], s[1], s[2]),
                   [("0 2 S0 2 3 S1 0 S2 D", CRD), ("5 6 S0 5 S1 D", CRD), ("1 2 S0 3 4 S1 7 S2 D", VAL)])
    check(got, "0 2 3 S0 0 S1 D", "1 5 4 S0 7 S1 D", val_ports=(1,))


def test_spacc1_with_empty_outer_fiber(engine):
    got = run_prim(engine, lambda b, s, t: b.spacc1(s[0], s[1], s[2]),
                   [("0 S1 S1' 1 S2 D", CRD), ("5 S0 S0 5 S1 D", CRD), ("1 S1 S1' 2 S2 D", VAL)])
    check(got, "0 S0 S0 1 S1 D", "1 S0 S0 2 S1 D", val_ports=(1,))


def test_spacc1_many_coordinates_across_flushes(engine):
    """A large outer fiber (its index grows and is rebuilt) between small ones (the index is
    cleared entry by entry, and whole), with coordinates repeated out of order and signed
    zeros: each flush is its fiber's sums in coordinate order, a coordinate's first value
    taken as it comes (-0.0 stays -0.0)."""
    import math

    rng = np.random.default_rng(3)
    # twice in a row, in coordinate order: an index left stale would find the old entries
    same = np.sort(rng.permutation(100_000)[:1_000])
    fibers = [rng.integers(0, 50_000, 3_000), rng.integers(0, 4, 9), np.array([7, 7, 7]),
              rng.integers(0, 200, 600), same, same, np.tile(np.arange(50), 4),  # rows of a dense operand
              np.array([2, 1])]
    crd, outer, vals, want_crd, want_val = [], [], [], [], []
    for f, xs in enumerate(fibers):
        vs = rng.choice([-1.5, 0.25, 2.0, -0.0], len(xs))
        crd += [int(x) for x in xs] + [Stop(1)]
        vals += [float(v) for v in vs] + [Stop(1)]
        outer += [f, Stop(0)]
        acc = {}
        for x, v in zip(xs, vs, strict=True):
            acc[int(x)] = acc[int(x)] + float(v) if int(x) in acc else float(v)
        want_crd += sorted(acc) + [Stop(0)]
        want_val += [acc[k] for k in sorted(acc)] + [Stop(0)]
    crd[-1], vals[-1], outer[-1] = Stop(2), Stop(2), Stop(1)
    got = run_prim(engine, lambda b, s, t: b.spacc1(s[0], s[1], s[2]),
                   [(crd + [DONE], CRD), (outer + [DONE], CRD), (vals + [DONE], VAL)])
    want_crd[-1] = want_val[-1] = Stop(1)
    assert got[0] == want_crd + [DONE]
    assert len(got[1]) == len(want_val) + 1
    for x, y in zip(got[1], want_val, strict=False):
        assert x == y and (not isinstance(y, float) or math.copysign(1, x) == math.copysign(1, y))


def test_spacc2(engine):
    # k=0: (i0: j1=1, j3=2), (i2: j0=3); k=1: (i0: j1=10) ; result i0: j1=11, j3=2 ; i2: j0=3
    got = run_prim(engine, lambda b, s, t: b.spacc2(s[0], s[1], s[2], s[3]),
                   [("1 3 S0 0 S1 1 S2 D", CRD), ("0 2 S0 0 S1 D", CRD), ("0 1 S0 D", CRD), ("1 2 S0 3 S1 10 S2 D", VAL)])
    check(got, "1 3 S0 0 S1 D", "0 2 S0 D", "11 2 S0 3 S1 D", val_ports=(2,))


def _tiles(text: str, tiles: dict) -> list:
    """Tokens of ``text`` with each data token a tile of ``tiles`` by name ("a", "b", ...)."""
    return [tiles[w] if w in tiles else parse(w)[0] for w in text.split()]


def test_spacc1_accumulates_tiles(engine):
    """Tile values sum elementwise per coordinate; an N value adds a zero tile; a deep stop
    flushes the outer fiber's tiles in coordinate order."""
    a, b, c = np.arange(4.0).reshape(2, 2), np.ones((2, 2)), np.full((2, 2), 5.0)
    got = run_prim(engine, lambda bb, s, t: bb.spacc1(s[0], s[1], s[2]),
                   [("0 2 S0 2 3 S1 1 S2 D", CRD), ("5 6 S0 5 S1 D", CRD),
                    (_tiles("a b S0 c N S1 a S2 D", {"a": a, "b": b, "c": c}), VAL)])
    assert same_stream(got[0], T("0 2 3 S0 1 S1 D"))
    assert same_stream(got[1], [a, b + c, np.zeros((2, 2)), *T("S0"), a, *T("S1 D")])


def test_spacc2_accumulates_tiles(engine):
    a, b = np.arange(4.0).reshape(2, 2), np.ones((2, 2))
    got = run_prim(engine, lambda bb, s, t: bb.spacc2(s[0], s[1], s[2], s[3]),
                   [("1 3 S0 0 S1 1 S2 D", CRD), ("0 2 S0 0 S1 D", CRD), ("0 1 S0 D", CRD),
                    (_tiles("a b S0 b S1 a S2 D", {"a": a, "b": b}), VAL)])
    assert same_stream(got[0], T("1 3 S0 0 S1 D"))
    assert same_stream(got[1], T("0 2 S0 D"))
    assert same_stream(got[2], [a + a, b, *T("S0"), b, *T("S1 D")])


def test_spacc_refuses_tiled_coordinates():
    from fuseflow.errors import FuseflowError

    tile = np.ones((2, 2))
    with pytest.raises(FuseflowError, match="coordinates cannot be tiles"):
        run_prim("compiled", lambda b, s, t: b.spacc1(s[0], s[1], s[2]),
                 [([tile, *T("S0 D")], VAL), ("5 S0 D", CRD), ([tile, *T("S0 D")], VAL)])


def test_spacc_capacity_is_enforced():
    from fuseflow.sim import HardwareConfig, SpaccOverflowError

    with pytest.raises(SpaccOverflowError, match="capacity of 2"):
        run_prim("compiled", lambda b, s, t: b.spacc1(s[0], s[1], s[2]),
                 [("0 1 2 S1 D", CRD), ("5 S0 D", CRD), ("1 2 3 S1 D", VAL)], hw=HardwareConfig(spacc_capacity=2))


# -- coordinate utilities -------------------------------------------------------------------
@pytest.mark.parametrize("outer,inner,w_outer,w_inner", [
    ("0 1 2 S0 D", "5 S0 S0 6 S1 D", "0 2 S0 D", "5 S0 6 S1 D"),
    ("0 1 S0 D", "5 S0 S1 D", "0 S0 D", "5 S1 D"),  # the dropped last fiber's stop merges
    ("0 S0 D", "S1 D", "S0 D", "S1' D"),
    ("0 1 S0 2 S1 D", "S0 5 S1 S2 D", "1 S0 S1 D", "5 S1 S2' D"),
])
def test_crd_drop(engine, outer, inner, w_outer, w_inner):
    check(run_prim(engine, lambda b, s, t: b.crd_drop(s[0], s[1]), [(outer, CRD), (inner, CRD)]), w_outer, w_inner)


def test_crd_hold(engine):
    got = run_prim(engine, lambda b, s, t: b.crd_hold(s[0], s[1]), [("0 1 S0 D", CRD), ("5 6 S0 7 S1 D", CRD)])
    check(got, "0 0 S0 1 S1 D", "5 6 S0 7 S1 D")


# -- parallelization ------------------------------------------------------------------------
def test_fork_round_robin_and_broadcast(engine):
    got = run_prim(engine, lambda b, s, t: b.fork(s[0], 2), [("1 2 3 S0 4 S1 D", REF)])
    check(got, "1 3 S0 S1 D", "2 S0 4 S1 D")


def test_fork_join_roundtrip(engine):
    got = run_prim(engine, lambda b, s, t: b.join(b.fork(s[0], 3)), [("1 2 3 S0 4 S0 S1 5 6 7 8 S2 D", REF)])
    check(got, "1 2 3 S0 4 S0 S1 5 6 7 8 S2 D")


def test_join_keeps_a_vacant_unit_vacant(engine):
    """Forked tokens k = 0..3 over two lanes, each yielding an i fiber of j fibers; k = 1's i fiber
    is empty, so its unit is the vacant S1' alone. Joined, the j stream is the serial one: the
    boundary after k = 0 is S1, the one after k = 1 stays vacant (S1'), not a plain S1."""
    got = run_prim(engine, lambda b, s, t: b.join([s[0], s[1]], depth=2),
                   [("0 1 S1 0 1 S2 D", CRD), ("S1' 0 1 S2 D", CRD)])
    check(got, "0 1 S1 S1' 0 1 S1 0 1 S2 D")


@pytest.mark.parametrize("lanes", [1, 2, 3])
@pytest.mark.parametrize("refs", ["0 1 2 S0 D", "2 0 S0 1 S1 D", "1 S0 S0 2 0 S1 D", "S0 D"])
def test_parallel_scan_then_join_equals_serial_scan(engine, lanes, refs):
    A = csr_tensor()

    def build(b, s, t):
        serial = b.fiber_lookup(s[0], t[0], 1)[0]
        lanes_out = [b.fiber_lookup(lane, t[0], 1)[0] for lane in b.fork(s[1], lanes)]
        return [serial, b.join(lanes_out, depth=1)]

    serial, joined = run_prim(engine, build, [(refs, REF), (refs, REF)], [A])
    assert joined == serial
