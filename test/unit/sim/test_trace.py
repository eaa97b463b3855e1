"""Trace options: valid trace-event JSON (plain and gzip), region and node filters honoured, a
window of cycles, counter tracks of FIFO occupancy and memory bandwidth, bounded sizes; and
progress reports and Ctrl-C with partial statistics."""

from __future__ import annotations

import _thread
import gzip
import json
import signal

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import load_matrix

from fuseflow.sim import (
    HardwareConfig,
    SimulationInterrupted,
    TraceOptions,
    examples,
    simulate_graph,
)
from fuseflow.sim.trace import TraceError, parse_window, read_trace

A = sp.random(40, 30, density=0.2, random_state=0, format="csr")
B = sp.csr_matrix(np.random.default_rng(0).random((30, 20)))


def _spmm(trace, hw=None):
    return simulate_graph(examples.graph("spmm_ikj"), {"A": A, "B": B}, hw=hw, trace=trace, check=True, expected=A @ B)


def _valid(events: list[dict]) -> None:
    """The trace-event format's required fields per phase."""
    for e in events:
        assert e["ph"] in ("X", "M", "C", "i"), e
        assert isinstance(e["pid"], int) and isinstance(e["name"], str)
        if e["ph"] == "X":
            assert isinstance(e["ts"], int) and e["dur"] >= 1 and isinstance(e["tid"], int)
        if e["ph"] == "C":
            assert isinstance(e["ts"], int) and len(e["args"]) == 1
            assert all(isinstance(v, (int, float)) for v in e["args"].values())


@pytest.mark.parametrize("name", ["t.json", "t.json.gz"])
def test_trace_file_is_valid_json_plain_or_gzip(tmp_path, name):
    path = tmp_path / name
    res = _spmm(path)
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as f:  # a gzip file Perfetto opens as it is
            doc = json.load(f)
    else:
        doc = json.loads(path.read_text())
    assert doc == read_trace(path)
    events = doc["traceEvents"]
    _valid(events)
    assert res.trace_events == []  # written to the file, not held
    spans = [e for e in events if e["ph"] == "X"]
    assert {e["tid"] for e in spans} == {k for k, s in enumerate(res.stats[0]) if s.busy_cycles}
    assert max(e["ts"] + e["dur"] for e in spans) <= res.cycles


def test_node_filter_by_name_or_kind():
    res = _spmm(TraceOptions(nodes=("spacc*", "val_write*")))
    threads = {e["args"]["name"] for e in res.trace_events if e["name"] == "thread_name"}
    assert threads and all(t.startswith(("spacc", "val_write")) for t in threads)
    kinds = {e["name"] for e in res.trace_events if e["ph"] == "X"}
    assert kinds <= {"spacc1", "val_write"}
    # FIFO tracks only for the FIFOs the traced nodes read
    fifos = {e["name"] for e in res.trace_events if e["ph"] == "C" and e["name"].startswith("fifo")}
    assert fifos and all(("-> spacc" in f) or ("-> val_write" in f) for f in fifos)


def test_window_keeps_only_steps_inside_it():
    full = _spmm(True)
    end = full.cycles
    lo, hi = end // 3, 2 * end // 3
    res = _spmm(TraceOptions(window=(lo, hi)))
    spans = [e for e in res.trace_events if e["ph"] == "X"]
    assert spans and all(lo <= e["ts"] < hi for e in spans)
    counters = [e for e in res.trace_events if e["ph"] == "C"]
    assert all(e["ts"] >= lo - 64 for e in counters)  # first windows are 16-cycle aligned
    assert len(spans) < len([e for e in full.trace_events if e["ph"] == "X"])


def test_region_filter_in_a_multi_region_program():
    from fuseflow.sim.graph import GraphSequence

    g1, g2 = examples.graph("spmm_ikj"), examples.graph("spmm_ikj")
    g2.name = "second"
    prog = GraphSequence([g1, g2])
    res = simulate_graph(prog, {"A": A, "B": B}, trace=TraceOptions(regions=("second",)))
    pids = {e["pid"] for e in res.trace_events}
    assert pids == {1}
    spans = [e for e in res.trace_events if e["ph"] == "X"]
    assert min(e["ts"] for e in spans) >= res.region_cycles[0]  # placed after the first region


def test_counter_tracks_fifo_occupancy_and_memory_bandwidth():
    res = _spmm(True)
    counters = [e for e in res.trace_events if e["ph"] == "C"]
    occupancy = [e for e in counters if e["name"].startswith("fifo")]
    assert occupancy and max(e["args"]["tokens"] for e in occupancy) >= 1
    # bounded FIFOs hold at most their depth
    assert max(e["args"]["tokens"] for e in occupancy) <= HardwareConfig().fifo_depth
    bandwidth = [e for e in counters if e["name"] == "memory bandwidth"]
    assert bandwidth and max(e["args"]["bytes per cycle"] for e in bandwidth) > 0
    plain = _spmm(TraceOptions(counters=False)).trace_events
    assert plain and not [e for e in plain if e["ph"] == "C"]
    assert not [e for e in _spmm(True, HardwareConfig(memory=False)).trace_events if e["name"] == "memory bandwidth"]


def test_counter_tracks_stay_bounded_on_long_runs():
    m = load_matrix("cryg2500")
    b = sp.csr_matrix(m.T)
    res = simulate_graph(examples.graph("spmm_ikj"), {"A": m, "B": b}, trace=TraceOptions(nodes=("val_write*",)))
    assert res.cycles > 5_000_000
    per_track: dict[str, int] = {}
    for e in res.trace_events:
        if e["ph"] == "C":
            per_track[e["name"]] = per_track.get(e["name"], 0) + 1
    assert per_track and max(per_track.values()) <= 4097  # windows coarsen past 4,096


def test_bad_trace_options_are_clear_errors():
    with pytest.raises(TraceError, match="0 <= START < END"):
        TraceOptions(window=(50, 10))
    with pytest.raises(TraceError, match="positive number of cycles"):
        TraceOptions(counter_window=0)
    with pytest.raises(TraceError, match="name patterns"):
        TraceOptions(nodes=(3,))
    with pytest.raises(TraceError, match="START:END"):
        parse_window("100")
    assert parse_window("100:") == (100, 2**62) and parse_window(":7") == (0, 7)
    with pytest.raises(TraceError, match="a bool, a path or TraceOptions"):
        _spmm(3.5)


def _run_cryg(progress, every=0.5, hw=None):
    from fuseflow.sim.binding import bind_inputs
    from fuseflow.sim.engine import run_region

    m = load_matrix("cryg2500")
    g = examples.graph("spmm_ikj")
    return run_region(g, bind_inputs(g, {"A": m, "B": sp.csr_matrix(m.T)}), hw or HardwareConfig(),
                      progress=progress, progress_every=every)


def test_progress_follows_the_work_not_an_outer_scan_that_runs_ahead():
    """With FIFOs deep enough to hold the whole outer fiber, the root scan emits all its
    coordinates at once; the share reported is of those its consumers have taken."""
    seen = []
    _run_cryg(lambda region, cycles, tokens, fraction: seen.append(fraction), every=0.0,
              hw=HardwareConfig(fifo_depth=4096))
    assert seen[-1] == 1.0
    assert 0 < seen[len(seen) // 2] < 0.9


def test_progress_reports_cycles_tokens_and_the_outer_loop_share():
    seen = []
    res = _run_cryg(lambda region, cycles, tokens, fraction: seen.append((region, cycles, tokens, fraction)), every=0.0)
    assert len(seen) > 3  # the start, during the run, the end
    assert all(r == "spmm_ikj" for r, *_ in seen)
    cycles = [c for _, c, _, _ in seen]
    assert cycles == sorted(cycles) and cycles[0] == 0 and 0.99 * res.cycles < cycles[-1] <= res.cycles
    fractions = [f for *_, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1.0
    assert 0 < fractions[len(fractions) // 2] < 1
    tokens = [t for _, _, t, _ in seen]  # emitted, as the statistics count them
    assert tokens == sorted(tokens) and tokens[0] == 0 and tokens[-1] == sum(s.tokens_out for s in res.stats)
    # through the public API: at least the start and the end
    api = []
    simulate_graph(examples.graph("spmv"), {"A": A[:, :20], "x": np.ones(20)}, progress=lambda *a: api.append(a))
    assert len(api) >= 2 and api[-1][3] == 1.0


def test_ctrl_c_stops_with_partial_statistics():
    calls = []

    def interrupt_on_third(*report):
        calls.append(report)
        if len(calls) == 3:
            _thread.interrupt_main()  # as Ctrl-C does: the engine sees it between two passes

    # Python's own Ctrl-C handler, as a user's session has it: a library loaded by an earlier
    # test in the same process may have replaced it, and interrupt_main() does nothing then
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(SimulationInterrupted) as e:
            _run_cryg(interrupt_on_third, every=0.0)
    finally:
        signal.signal(signal.SIGINT, previous)
    err = e.value
    assert isinstance(err, KeyboardInterrupt)
    assert err.region == "spmm_ikj" and 0 < err.cycles < 6_252_554 and err.tokens > 0
    assert err.stats and 0 < sum(s.tokens_out for s in err.stats) <= err.tokens
    assert "stopped at cycle" in str(err)
