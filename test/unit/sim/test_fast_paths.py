"""The engine's batched runs are its generic steps taken in bulk: the rounds of scans,
intersects (matches, equal stops, drops), array loads, ALUs, reductions, sparse accumulators
(accumulation and flush) and repeats, and a dense
scan whose coordinates an intersect drops (both nodes' turns run at once, the nodes then sitting
out the scheduler turns already taken). A traced run
takes the generic path at every step, so traced and untraced runs must agree on every
statistic, cycle, output and buffer peak, on graphs where the batched runs do most of the work
(long dense fibers co-iterated with sparse ones, matches of two dense fibers, short fibers one
scan round runs through), under FIFO depths
that divide the fibers unevenly, with and without the memory model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import load_matrix

from fuseflow.sim import HardwareConfig, examples, simulate_graph
from fuseflow.sim.engine import run_region
from fuseflow.sim.graph import GraphBuilder, StreamKind
from fuseflow.sim.tokens import parse


def _rand(m, n, density, seed):
    a = sp.random(m, n, density=density, random_state=seed, format="csr")
    a.eliminate_zeros()
    return a


def _cases():
    A = _rand(24, 300, 0.03, 1)  # 300 dense coordinates per row of B, about 9 of them kept
    B = _rand(300, 12, 0.2, 2)
    S = _rand(24, 40, 0.5, 3)
    D, E = np.random.default_rng(4).random((24, 6)), np.random.default_rng(5).random((40, 6))
    return {
        "spmm_ikj": {"A": A, "B": B},
        "spmm_ijk": {"A": A, "B": B},
        "sddmm": {"S": S, "A": D, "B": E},
        "mul": {"A": _rand(30, 200, 0.05, 6), "B": _rand(30, 200, 0.05, 7)},
        # short fibers: a scan's round runs through many fibers, their stops and references
        "spmm_ikj/short": {"A": _rand(20, 60, 0.2, 8), "B": _rand(60, 30, 0.06, 9)},
        "sddmm/short": {"S": _rand(30, 30, 0.3, 10), "A": D[:, :3].repeat(2, axis=0)[:30], "B": E[:30, :3]},
    }


CASES = _cases()
HW = {
    "default": HardwareConfig(),
    "depth5": HardwareConfig(fifo_depth=5),
    "depth2-nomem": HardwareConfig(fifo_depth=2, memory=False),
    "depth33-slowmem": HardwareConfig(fifo_depth=33, mem_latency=40, mem_channels=1),
    "unbounded": HardwareConfig(fifo_depth=0, memory=False, spacc_flush_ii=0),
    # a latency over depth x II: producers wait on their FIFOs' pop times at every step
    "depth3-latency7": HardwareConfig(fifo_depth=3, latency=7, ii=2),
}


@pytest.mark.parametrize("hw", list(HW.values()), ids=list(HW))
@pytest.mark.parametrize("name", sorted(CASES))
def test_batched_runs_are_the_generic_steps(name, hw):
    inputs = CASES[name]
    kernel = name.split("/")[0]
    fast = simulate_graph(examples.graph(kernel), inputs, hw=hw)
    slow = simulate_graph(examples.graph(kernel), inputs, hw=hw, trace=True)
    assert fast.cycles == slow.cycles
    assert fast.stats == slow.stats
    assert fast.region_buffers == slow.region_buffers
    got, want = fast.outputs["out"], slow.outputs["out"]
    np.testing.assert_array_equal(got.toarray() if sp.issparse(got) else got, want.toarray() if sp.issparse(want) else want)


@pytest.mark.parametrize("hw", list(HW.values()), ids=list(HW))
def test_scheduler_counts_follow_every_push_and_pop(hw, made_engines):
    """The scheduler skips a node by its counts of tokens pushed into its inputs and popped
    from its outputs, kept by every push and pop (rounds, fused runs, generic steps): after a
    run they equal what the FIFOs say, on every graph here."""
    S = load_matrix("lp_scsd1")
    rng = np.random.default_rng(0)
    lp = {"S": S, "A": rng.random((S.shape[0], 16)), "B": rng.random((S.shape[1], 16))}
    for name, inputs in [*sorted(CASES.items()), ("sddmm", lp)]:
        simulate_graph(examples.graph(name.split("/")[0]), inputs, hw=hw)
        assert made_engines[-1].sched_mismatches() == [], name


def test_fused_drops_keep_the_order_of_memory_requests():
    """SDDMM over lp_scsd1: a dense scan of 760 columns per row feeds an intersect with the
    sparse rows, while array loads compete for memory issue slots. A fused run that let the
    scan and the intersect skip ahead without sitting out the scheduler's turns would change
    which request gets a contended slot (and so cycles); the untraced run must equal the traced
    one exactly."""
    S = load_matrix("lp_scsd1")
    rng = np.random.default_rng(0)
    inputs = {"S": S, "A": rng.random((S.shape[0], 16)), "B": rng.random((S.shape[1], 16))}
    fast = simulate_graph(examples.graph("sddmm"), inputs)
    slow = simulate_graph(examples.graph("sddmm"), inputs, trace=True)
    assert (fast.cycles, fast.stats) == (slow.cycles, slow.stats)


@pytest.mark.parametrize("name", ["gcn", "sae", "gpt3_bigbird"])
def test_compiled_programs_traced_and_untraced_agree(name, made_engines):
    """Compiled programs (fan-out buffers, sparse accumulators, tiles of a block-sparse mask):
    every region's statistics, buffer peaks and the outputs agree traced and untraced, and the
    scheduler's counts follow the FIFOs in every region."""
    import fuseflow
    from fuseflow.workloads import BUILTIN

    w = BUILTIN[name]()
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers")
    del made_engines[:]  # the runs below only
    fast = fuseflow.simulate(prog, w.args, check=True)
    assert made_engines and all(e.sched_mismatches() == [] for e in made_engines)
    slow = fuseflow.simulate(prog, w.args, trace=True)
    assert (fast.cycles, fast.stats, fast.region_buffers) == (slow.cycles, slow.stats, slow.region_buffers)
    for a, b in zip(fast.outputs, slow.outputs, strict=True):
        np.testing.assert_array_equal(a, b)


def _late_outer_graph():
    """An order-1 accumulator whose outer coordinates come through a fork/join chain (four nodes
    of latency) while its inner coordinates and values come straight from their sources: each
    inner fiber's end waits for its outer coordinate."""
    inner, outer, vals = [], [], []
    for i in range(4):
        for k in range(10):
            last = k == 9
            inner += [str(k % 3), str(k % 3 + 2), "S1" if last else "S0"]
            vals += [f"{k}.5", "1", "S1" if last else "S0"]
            outer.append(str(k))
        outer.append("S0" if i < 3 else "S1")
    inner[-1] = vals[-1] = "S2"
    b = GraphBuilder("late_outer")
    src_inner = b.source(parse(" ".join(inner + ["D"])), StreamKind.CRD)
    src_outer = b.source(parse(" ".join(outer + ["D"])), StreamKind.CRD)
    src_vals = b.source(parse(" ".join(vals + ["D"]), val=True), StreamKind.VAL)
    late = b.join(b.fork(b.join(b.fork(src_outer, 2)), 2))
    crd, val = b.spacc1(src_inner, late, src_vals)
    b.sink(crd, "crd")
    b.sink(val, "val")
    return b.build()


@pytest.mark.parametrize("hw", [HardwareConfig(latency=7), HardwareConfig(fifo_depth=3, latency=5)], ids=["lat7", "depth3-lat5"])
def test_accumulator_waits_for_a_late_outer_coordinate(hw):
    fast = run_region(_late_outer_graph(), [], hw)
    slow = run_region(_late_outer_graph(), [], hw, trace=True)
    assert fast.cycles == slow.cycles
    assert fast.stats == slow.stats
    assert fast.sinks == slow.sinks
