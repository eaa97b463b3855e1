"""Regions simulated side by side (``workers=2``, ``fuseflow.sim.runner``) give the run in order's
outputs, cycles and every counter, bit for bit; errors, memory budgets and Ctrl-C behave as in
order."""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
import pytest
import torch

import fuseflow
from fuseflow import workloads
from fuseflow.errors import FuseflowError
from fuseflow.sim import GuardError, HardwareConfig, MemoryBudgetError, SimulationInterrupted


@pytest.fixture(scope="module")
def programs():
    out = {}
    for name, fusion in (("gcn", "unfused"), ("sae", "layers"), ("gpt3_bigbird", "layers")):
        w = workloads.BUILTIN[name](nodes=32) if name == "gcn" else workloads.load(name)
        out[f"{name}/{fusion}"] = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion=fusion), w.args
    return out


@pytest.mark.parametrize("case", ["gcn/unfused", "sae/layers", "gpt3_bigbird/layers"])
def test_side_by_side_equals_in_order(programs, case):
    prog, args = programs[case]
    in_order = fuseflow.simulate(prog, args, check=True)
    pooled = fuseflow.simulate(prog, args, check=True, workers=2)
    assert len(in_order.region_cycles) > 1
    assert pooled.cycles == in_order.cycles
    assert pooled.region_cycles == in_order.region_cycles  # same regions, same order
    assert pooled.relayouts == in_order.relayouts
    assert pooled.stats == in_order.stats  # every counter of every node
    assert pooled.region_buffers == in_order.region_buffers
    assert pooled.region_memory == in_order.region_memory
    assert len(pooled.outputs) == len(in_order.outputs)
    for got, want in zip(pooled.outputs, in_order.outputs, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("hw", [HardwareConfig(max_cycles=50), HardwareConfig(fifo_depth=0, max_memory_mb=1)],
                         ids=["cycle-guard", "memory-budget"])
def test_a_worker_error_is_the_in_order_error(hw):
    torch.manual_seed(0)
    x = torch.randn(48, 32)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32)).eval()
    prog = fuseflow.compile(model, (x,), fusion="unfused")
    with pytest.raises((GuardError, MemoryBudgetError)) as in_order:
        fuseflow.simulate(prog, (x,), hw=hw)
    with pytest.raises(type(in_order.value)) as pooled:
        fuseflow.simulate(prog, (x,), hw=hw, workers=2)
    assert str(pooled.value) == str(in_order.value)
    assert not multiprocessing.active_children()


def test_ctrl_c_stops_the_workers_and_reports_the_regions_done(programs):
    prog, args = programs["gpt3_bigbird/layers"]
    done = []

    def interrupt(region, cycles, tokens, fraction):  # Ctrl-C once the first region is in
        done.append(region)
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(SimulationInterrupted) as e:
            fuseflow.simulate(prog, args, workers=2, progress=interrupt)
    finally:
        signal.signal(signal.SIGINT, previous)
    first = prog.regions[0].name
    assert done[0] == first and first not in e.value.region  # the regions left are named
    assert e.value.stats and e.value.cycles > 0
    assert not multiprocessing.active_children()


def test_a_trace_runs_in_order():
    with pytest.raises(FuseflowError, match="workers=1 to trace"):
        fuseflow.sim.runner.Runner(workers=2, trace=True)
