"""The simulator's memory guard on hand-built graphs: what grows is charged, past
``HardwareConfig.max_memory_mb`` the run stops with a ``MemoryBudgetError`` naming the node and
the structure, and the engine's count starts afresh for the next run."""

from __future__ import annotations

import pytest
from conftest import run_prim

from fuseflow.sim import HardwareConfig, MemoryBudgetError
from fuseflow.sim.graph import StreamKind
from fuseflow.sim.tokens import DONE, Stop

CRD, VAL = StreamKind.CRD, StreamKind.VAL


def _one_long_fiber(n: int) -> list:
    """Coordinates 0..n-1 in one fiber of one outer fiber: a sparse accumulator holds all n."""
    return [*range(n), Stop(1), DONE]


def _accumulate(n: int, hw: HardwareConfig):
    inner = _one_long_fiber(n)
    vals = [1.0] * n + [Stop(1), DONE]
    return run_prim("compiled", lambda b, s, t: b.spacc1(s[0], s[1], s[2]),
                    [(inner, CRD), ([5, Stop(0), DONE], CRD), (vals, VAL)], hw=hw)


def test_sparse_accumulator_over_budget_names_the_node_and_the_accumulator():
    hw = HardwareConfig(spacc_capacity=0, max_memory_mb=1)
    with pytest.raises(MemoryBudgetError, match=r"graph 'prim': simulation memory over its budget of 1\.0 MiB") as e:
        _accumulate(40_000, hw)  # 40,000 entries (16 bytes) and their index: over 1 MiB
    assert "its sparse accumulator" in str(e.value)
    assert e.value.node.startswith("spacc1")
    assert e.value.fifo == -1
    assert "max_memory_mb" in str(e.value)


def test_under_the_budget_the_same_graph_runs_and_reports_its_peak():
    from fuseflow.sim.binding import bind_inputs
    from fuseflow.sim.engine import run_region
    from fuseflow.sim.graph import GraphBuilder

    b = GraphBuilder("acc")
    inner = b.source(_one_long_fiber(10_000), CRD)
    outer = b.source([5, Stop(0), DONE], CRD)
    vals = b.source([1.0] * 10_000 + [Stop(1), DONE], VAL)
    crd, val = b.spacc1(inner, outer, vals)
    b.sink(crd, "crd")
    b.sink(val, "val")
    g = b.build()
    res = run_region(g, bind_inputs(g, {}), HardwareConfig(spacc_capacity=0, max_memory_mb=16))
    assert res.sinks["crd"][:3] == [0, 1, 2]
    # 10,000 accumulator entries (16 bytes, and an index of 4 bytes at most half full) and two
    # sink logs of 10,000 tokens (120 bytes each) at least
    assert res.memory_peak >= 10_000 * (16 + 8) + 2 * 10_000 * 120
    # a later run counts afresh: the failed run before does not leave bytes behind
    again = run_region(g, bind_inputs(g, {}), HardwareConfig(spacc_capacity=0, max_memory_mb=16))
    assert again.memory_peak == res.memory_peak


def test_sink_log_over_budget_names_the_sink():
    # a sink keeps every token it takes (hand-built graphs only: compiled programs write)
    n = 20_000
    with pytest.raises(MemoryBudgetError, match="over its budget") as e:
        run_prim("compiled", lambda b, s, t: s[0], [([*range(n), Stop(0), DONE], CRD)],
                 hw=HardwareConfig(max_memory_mb=1))
    assert e.value.node == "o0"  # the sink, named after its stream
    assert "its token log" in str(e.value)


def test_zero_means_no_limit_and_negative_is_refused():
    got = _accumulate(2_000, HardwareConfig(spacc_capacity=0, max_memory_mb=0))
    assert got[0][:2] == [0, 1]
    with pytest.raises(Exception, match="max_memory_mb must be a non-negative int"):
        HardwareConfig(max_memory_mb=-1)


def test_the_memory_model_forgets_busy_slots_no_live_node_can_reach(made_engines):
    """Requests are issued at or after the local clock of a node still running, so busy runs
    that end before the earliest such clock are dropped: the state held stays small however many
    requests a long run makes, and the cycles are the same as with every slot kept (pinned)."""
    import numpy as np
    import scipy.sparse as sp

    from fuseflow.sim import examples, simulate_graph

    rng = np.random.default_rng(0)
    a = sp.random(300, 300, density=0.3, random_state=1, format="csr")
    d, e = rng.random((300, 16)), rng.random((300, 16))
    res = simulate_graph(examples.graph("sddmm"), {"S": a, "A": d, "B": e}, check=True, expected=a.multiply(d @ e.T))
    eng = made_engines[-1]
    assert eng.intervals_made > 10_000
    assert eng.intervals_peak < eng.intervals_made / 20
    assert res.cycles == 594_049  # the same with every slot kept (the forgetting switched off)
