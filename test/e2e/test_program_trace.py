"""Traces and progress of compiled programs: one process per region on one timeline, region
filters by function name, streamed to a gzip file; progress reported per region."""

from __future__ import annotations

import warnings

import fuseflow
from fuseflow import workloads
from fuseflow.sim import TraceOptions
from fuseflow.sim.trace import read_trace

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def _program():
    w = workloads.gcn(16, 8, 8, 4)
    return fuseflow.compile(w.model, w.args, fusion="unfused"), list(w.args)


def test_program_trace_regions_on_one_timeline(tmp_path):
    prog, args = _program()
    names = [r.name for r in prog.regions]
    assert len(names) >= 3
    whole = fuseflow.simulate(prog, args, trace=True, check=True)
    processes = {e["pid"]: e["args"]["name"] for e in whole.trace_events if e["name"] == "process_name"}
    assert sorted(processes.values()) == sorted(whole.region_cycles)
    # each region's spans start where the regions (and relayouts) before it ended
    starts: dict[str, int] = {}
    clock = 0
    for name, cycles in whole.region_cycles.items():
        starts[name] = clock
        clock += cycles
    for e in whole.trace_events:
        if e["ph"] == "X":
            region = processes[e["pid"]]
            assert starts[region] <= e["ts"] < starts[region] + whole.region_cycles[region] + 1
    second = list(whole.region_cycles)[1]
    path = tmp_path / "one.json.gz"
    res = fuseflow.simulate(prog, args, trace=TraceOptions(path=path, regions=(second,)))
    assert res.trace_events == []  # streamed to the file
    events = read_trace(path)["traceEvents"]
    assert {processes[e["pid"]] for e in events} == {second}
    assert min(e["ts"] for e in events if e["ph"] == "X") >= starts[second]


def test_program_progress_per_region():
    prog, args = _program()
    seen = []
    res = fuseflow.simulate(prog, args, progress=lambda *report: seen.append(report))
    regions = list(dict.fromkeys(r for r, *_ in seen))
    assert regions == list(res.region_cycles)
    for region, cycles in res.region_cycles.items():
        mine = [c for r, c, _, _ in seen if r == region]
        assert mine[0] == 0 and mine[-1] <= cycles
