"""Lanes and primitives of compiled programs: a fork deals rows round-robin, so rows of very
different lengths load the lanes unevenly (visible as the lane imbalance) and equal rows do not;
each region's primitives and lanes are counted from the program's module, and a PE budget below
a region's count makes the program infeasible."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io
import torch

import fuseflow
from fuseflow import workloads
from fuseflow.cli import main
from fuseflow.dialects.sam_graph import sam_functions
from fuseflow.sim import HardwareConfig
from fuseflow.sim.errors import PeBudgetError
from fuseflow.sim.from_mlir import graph_from_func
from fuseflow.sim.resources import graph_primitives

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

M, K, N, LANES = 16, 16, 4, 4


class SpMM(torch.nn.Module):
    def forward(self, a, b):
        return a @ b


def _matrices():
    """(skewed, uniform) M x K operands: rows 0, 4, 8, 12 (all dealt to lane 0 of 4) are full and
    every other row has one value; every row of the uniform one is full."""
    g = torch.Generator().manual_seed(0)
    skewed = torch.zeros(M, K)
    for i in range(M):
        n = K if i % LANES == 0 else 1
        skewed[i, :n] = torch.rand(n, generator=g) + 0.5
    return skewed, torch.rand(M, K, generator=g) + 0.5


def _run(a, par=LANES, hw=None):
    args = (a.to_sparse_csr(), torch.randn(K, N, generator=torch.Generator().manual_seed(1)))
    prog = fuseflow.compile(SpMM(), args, par=par)
    return prog, fuseflow.simulate(prog, args, hw=hw, check=True), args


def test_round_robin_rows_of_skewed_lengths_unbalance_the_lanes_and_uniform_rows_do_not():
    skewed, uniform = _matrices()
    _, res, _ = _run(skewed)
    (region,) = res.lane_busy
    busy = res.lane_busy[region]
    assert set(busy) == {"0", "1", "2", "3"}
    assert busy["0"] > 5 * max(busy["1"], busy["2"], busy["3"])  # lane 0 got every full row
    assert res.lane_imbalance[region] > 2.5
    _, even, _ = _run(uniform)
    assert even.lane_imbalance[region] == pytest.approx(1.0, abs=0.01)
    # the busiest lane bounds the region: the skewed input takes as long as the uniform one
    assert res.cycles > 0.9 * even.cycles


def test_nested_lanes_aggregate_by_outermost_lane():
    skewed, _ = _matrices()
    prog, res, _ = _run(skewed, par=(2, 2))
    (region,) = res.lane_busy
    assert prog.lanes == {region: 4}
    assert {"0.0", "0.1", "1.0", "1.1"} <= set(res.lane_busy[region])
    outer = {t: sum(c for tag, c in res.lane_busy[region].items() if tag.split(".")[0] == t) for t in ("0", "1")}
    assert res.lane_imbalance[region] == pytest.approx(2 * max(outer.values()) / sum(outer.values()))
    assert res.lane_summary() == [f"{region}: 4 lanes (2 outer), imbalance {res.lane_imbalance[region]:.2f} "
                                  f"(busy cycles per outer lane 0={outer['0']:,} 1={outer['1']:,})"]


def test_program_primitives_match_the_simulated_graphs_and_lanes_multiply():
    w = workloads.gcn(nodes=24, features=8, hidden=8, classes=4)
    serial = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers")
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers", par=LANES)
    names = [r.name for r in prog.regions]
    assert list(prog.primitives) == names
    assert serial.lanes == dict.fromkeys(names, 1)
    assert prog.lanes == dict.fromkeys(names, LANES)
    for sg in sam_functions(prog.module):
        counts = prog.primitives[sg.name]
        assert counts == graph_primitives(graph_from_func(sg))
        assert prog.primitive_totals[sg.name] == sum(counts.values()) == sum(sg.op_counts().values()) - 1  # sam.output
        assert "output" not in counts and counts["fork"] >= 1 and counts["join"] >= 1
        # the forked loop body is cloned per lane: more primitives than the serial region
        assert prog.primitive_totals[sg.name] > serial.primitive_totals[sg.name]
    res = fuseflow.simulate(serial, w.args, check=True)
    assert res.lane_busy == dict.fromkeys(names, {}) and res.lane_imbalance == {} and res.lane_summary() == []


def test_pe_budget_below_a_regions_count_is_infeasible_and_equal_runs():
    w = workloads.gcn(nodes=24, features=8, hidden=8, classes=4)
    prog = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers", par=LANES)
    totals = prog.primitive_totals
    largest = max(totals, key=totals.__getitem__)
    kind, count = prog.primitives[largest].most_common(1)[0]
    with pytest.raises(PeBudgetError, match=rf"^{largest} uses {totals[largest]} primitives \(budget "
                                            rf"{totals[largest] - 1}, HardwareConfig.pe_budget\): {count} {kind}, .*; "
                                            rf"use fewer lanes \(it has {LANES}\)$"):
        fuseflow.simulate(prog, w.args, hw=HardwareConfig(pe_budget=totals[largest] - 1))
    cycles = fuseflow.simulate(prog, w.args).cycles
    assert fuseflow.simulate(prog, w.args, hw=HardwareConfig(pe_budget=totals[largest]), check=True).cycles == cycles
    # fewer lanes fit the budget the 4-lane program exceeds
    two = fuseflow.compile(w.model, w.args, sparse=w.sparse, fusion="layers", par=2)
    assert max(two.primitive_totals.values()) < totals[largest]
    fuseflow.simulate(two, w.args, hw=HardwareConfig(pe_budget=totals[largest] - 1), check=True)


def test_cli_reports_lanes_of_a_compiled_program(tmp_path, capsys):
    skewed, _ = _matrices()
    prog, res, (a, b) = _run(skewed)
    (tmp_path / "prog.mlir").write_text(prog.stage("optimized"))
    scipy.io.mmwrite(str(tmp_path / "A.mtx"), a.to_dense().numpy())
    np.save(tmp_path / "B.npy", b.numpy())
    cmd = ["simulate", str(tmp_path / "prog.mlir"), "--inputs", str(tmp_path / "A.mtx"), str(tmp_path / "B.npy")]
    assert main(cmd) == 0
    out = capsys.readouterr().out
    (line,) = res.lane_summary()
    assert line in out and "4 lanes, imbalance" in line
    assert main([*cmd, "--hw", f"pe_budget={max(prog.primitive_totals.values()) - 1}"]) == 1
    assert "use fewer lanes (it has 4)" in capsys.readouterr().err
