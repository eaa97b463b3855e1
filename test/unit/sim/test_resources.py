"""Lanes and primitives: per-lane busy cycles, the lane imbalance, primitive counts and the PE
budget, on hand-built fork/join graphs with known work per lane."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from fuseflow.bindings import ir, print_module
from fuseflow.cli import main
from fuseflow.context import make_context
from fuseflow.dialects import sam_examples, sam_graph
from fuseflow.errors import FuseflowError
from fuseflow.passes.sam_parallelize import LANE_ATTR
from fuseflow.program import Program
from fuseflow.sim import HardwareConfig, simulate_graph
from fuseflow.sim.engine import run_region
from fuseflow.sim.errors import PeBudgetError
from fuseflow.sim.from_mlir import graph_from_func
from fuseflow.sim.graph import GraphBuilder, StreamKind
from fuseflow.sim.resources import (
    check_pe_budget,
    graph_primitives,
    lane_busy,
    lane_count,
    lane_imbalance,
    lane_line,
    outer_lane_busy,
    sam_primitives,
)
from fuseflow.sim.tokens import parse

NOMEM = HardwareConfig(memory=False, fifo_depth=0)
# spmv_par2's op positions: lane 0 runs ops 4..12 (the j loop of the even rows), lane 1 ops 13..21
LANE_OPS = {"0": range(4, 13), "1": range(13, 22)}
SPMV_PAR2 = Counter({"fiber_lookup": 5, "array": 4, "fork": 2, "repeat_sig_gen": 2, "repeat": 2, "intersect": 2,
                     "alu": 2, "reduce": 2, "join": 2, "root": 1, "fiber_write": 1, "val_write": 1})


def fork_graph(chain_lengths, name="par"):
    """A value stream of 6 tokens forked round-robin into ``len(chain_lengths)`` lanes; lane l
    negates its tokens ``chain_lengths[l]`` times (one ALU each); the lanes are joined."""
    b = GraphBuilder(name)
    src = b.source(parse("1 2 3 4 5 6 S0 D", val=True), StreamKind.VAL)
    outs = []
    for lane, stream in enumerate(b.fork(src, len(chain_lengths))):
        b.lane = str(lane)
        for _ in range(chain_lengths[lane]):
            stream = b.alu("neg", stream)
        outs.append(stream)
    b.lane = ""
    b.sink(b.join(outs, 0), "y")
    return b.build()


def tagged_spmv_par2(tag: bool = True):
    """(context, module) of the dialect's two-lane SpMV, its lane bodies tagged like
    sam-parallelize tags them."""
    ctx = make_context()
    with ctx, ir.Location.unknown():
        module = sam_examples.spmv_par2()
        if tag:
            ops = list(next(iter(module.body.operations)).regions[0].blocks[0].operations)
            for lane, positions in LANE_OPS.items():
                assert ops[positions[0]].operation.name == "sam.fiber_lookup"  # each body starts at A's j scan
                for k in positions:
                    ops[k].operation.attributes[LANE_ATTR] = ir.StringAttr.get(lane)
    return ctx, module


def skewed_matrix():
    """4 x 5 CSR: the even rows (lane 0) are full, the odd rows (lane 1) empty."""
    a = np.zeros((4, 5))
    a[0] = a[2] = np.arange(1.0, 6.0)
    return sp.csr_matrix(a)


def test_lane_busy_sums_each_lanes_busy_cycles_and_leaves_serial_nodes_out():
    res = run_region(fork_graph([2, 1]), [], NOMEM)
    assert {s.name: s.lane for s in res.stats if s.kind == "alu"} == {"alu2": "0", "alu3": "0", "alu4": "1"}
    assert res.sinks["y"] == parse("1 -2 3 -4 5 -6 S0 D", val=True)  # odd tokens negated twice, even once
    # every ALU takes one step per token it reads: 3 data tokens, the stop and done of its lane
    assert lane_busy(res.stats) == {"0": 2 * 5, "1": 5}
    assert lane_imbalance(lane_busy(res.stats)) == pytest.approx(10 / 7.5)
    assert lane_busy(run_region(fork_graph([1, 1]), [], NOMEM).stats) == {"0": 5, "1": 5}


def test_nested_tags_count_innermost_lanes_and_aggregate_by_outermost_lane():
    busy = {"0": 10, "0.0": 40, "0.1": 50, "1": 10, "1.0": 20, "1.1": 30}
    assert lane_count(busy) == 4
    assert lane_count(["0", "1", "2"]) == 3
    assert lane_count([]) == 1 and lane_count([""]) == 1
    assert outer_lane_busy(busy) == {"0": 100, "1": 60}
    assert lane_imbalance(busy) == pytest.approx(100 / 80)
    assert lane_imbalance({}) == 1.0 and lane_imbalance({"0": 0, "1": 0}) == 1.0
    assert lane_line("r", busy) == "r: 4 lanes (2 outer), imbalance 1.25 (busy cycles per outer lane 0=100 1=60)"
    assert lane_line("r", {"0": 1500, "1": 500}) == "r: 2 lanes, imbalance 1.50 (busy cycles per lane 0=1,500 1=500)"
    # lanes sort numerically, not as text
    assert list(lane_busy([_Stat("10", 1), _Stat("2", 1), _Stat("", 7)])) == ["2", "10"]


class _Stat:
    def __init__(self, lane, busy):
        self.lane, self.busy_cycles = lane, busy


def test_from_mlir_carries_lane_tags_to_nodes_and_statistics():
    _, module = tagged_spmv_par2()
    (sg,) = sam_graph.sam_functions(module)
    g = graph_from_func(sg)
    lanes = {n.name: n.lane for n in g.nodes}
    # node names are the op's name and position: exactly the tagged ops have a lane
    assert {name: lane for name, lane in lanes.items() if lane} == {
        f"{sg.ops[k].name.removeprefix('sam.')}{k}": lane for lane, positions in LANE_OPS.items() for k in positions}
    assert lanes["fiber_lookup4"] == "0" and lanes["reduce12"] == "0" and lanes["fiber_lookup13"] == "1"
    a, x = skewed_matrix(), np.arange(5.0)
    res = simulate_graph(module, [a, x], hw=NOMEM, check=True)
    np.testing.assert_allclose(res.outputs["out"], a @ x)
    busy = lane_busy(res.stats[0])
    by_name = {s.name: s.busy_cycles for s in res.stats[0]}
    for lane, positions in LANE_OPS.items():
        assert busy[lane] == sum(by_name[f"{sg.ops[k].name.removeprefix('sam.')}{k}"] for k in positions)
    assert busy["0"] > busy["1"]  # the full rows all went to lane 0
    assert lane_imbalance(busy) == pytest.approx(2 * busy["0"] / (busy["0"] + busy["1"]))
    # the full rows on the odd positions: the lanes swap their work exactly
    swapped = simulate_graph(module, [sp.csr_matrix(a.toarray()[[1, 0, 3, 2]]), x], hw=NOMEM, check=True)
    assert lane_busy(swapped.stats[0]) == {"0": busy["1"], "1": busy["0"]}
    assert [r["lane"] for r in res.to_json()["regions"][0] if r["name"] == "alu11"] == ["0"]
    assert res.to_json()["lane_busy"] == [busy]


def test_program_counts_primitives_by_kind_and_lanes_per_region():
    _, module = tagged_spmv_par2()
    prog = Program(module, None, {}, None)
    assert prog.primitives == {"spmv_par2": SPMV_PAR2}
    assert prog.primitive_totals == {"spmv_par2": 26}
    assert prog.lanes == {"spmv_par2": 2}
    (sg,) = sam_graph.sam_functions(module)
    assert sam_primitives(sg) == graph_primitives(graph_from_func(sg)) == SPMV_PAR2  # sam.output is none
    _, serial = tagged_spmv_par2(tag=False)
    assert Program(serial, None, {}, None).lanes == {"spmv_par2": 1}


def test_pe_budget_below_the_count_raises_naming_the_largest_kinds():
    _, module = tagged_spmv_par2()
    inputs = [skewed_matrix(), np.arange(5.0)]
    with pytest.raises(PeBudgetError) as err:
        simulate_graph(module, inputs, hw=HardwareConfig(pe_budget=25))
    assert str(err.value) == ("spmv_par2 uses 26 primitives (budget 25, HardwareConfig.pe_budget): 5 fiber_lookup, "
                              "4 array, 2 alu, 2 fork, 2 intersect, ...; use fewer lanes (it has 2)")
    assert isinstance(err.value, FuseflowError)
    cycles = simulate_graph(module, inputs).cycles
    assert simulate_graph(module, inputs, hw=HardwareConfig(pe_budget=26)).cycles == cycles
    assert simulate_graph(module, inputs, hw=HardwareConfig(pe_budget=0)).cycles == cycles


def test_pe_budget_of_a_serial_region_advises_a_smaller_region():
    with pytest.raises(PeBudgetError, match=r"^s uses 3 primitives \(budget 2, HardwareConfig.pe_budget\): "
                                            r"2 alu, 1 fork; fuse fewer operations into it$"):
        check_pe_budget("s", Counter({"alu": 2, "fork": 1}), 1, 2)
    # the harness's sources and sinks are no primitives: 1 fork, 2 ALUs and 1 join
    g = fork_graph([1, 1])
    assert graph_primitives(g) == Counter({"alu": 2, "fork": 1, "join": 1})
    with pytest.raises(PeBudgetError, match=r"^par uses 4 primitives .*; use fewer lanes \(it has 2\)$"):
        run_region(g, [], HardwareConfig(pe_budget=3))


def test_pe_budget_is_a_validated_hardware_field():
    assert HardwareConfig().pe_budget == 0
    with pytest.raises(FuseflowError, match=r"HardwareConfig.pe_budget must be a non-negative int, got -1"):
        HardwareConfig(pe_budget=-1)
    hw = HardwareConfig().with_overrides({"pe_budget": "300"})
    assert hw.pe_budget == 300 and hw.key() != HardwareConfig().key()
    with pytest.raises(FuseflowError, match=r"--hw pe_budget: expected an integer, got 'many'"):
        HardwareConfig().with_overrides({"pe_budget": "many"})


@pytest.fixture
def par2_files(tmp_path):
    _, module = tagged_spmv_par2()
    (tmp_path / "par2.mlir").write_text(print_module(module))
    scipy.io.mmwrite(str(tmp_path / "A.mtx"), skewed_matrix())
    np.save(tmp_path / "x.npy", np.arange(5.0))
    return tmp_path


def test_cli_prints_a_line_per_parallel_region_and_honours_a_pe_budget(par2_files, capsys):
    d = par2_files
    cmd = ["simulate", str(d / "par2.mlir"), "--inputs", str(d / "A.mtx"), str(d / "x.npy")]
    assert main(cmd) == 0
    out = capsys.readouterr().out
    assert "region 0: 2 lanes, imbalance " in out
    assert main([*cmd, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["lane_busy"][0]) == {"0", "1"} and doc["lane_busy"][0]["0"] > doc["lane_busy"][0]["1"]
    assert main([*cmd, "--hw", "pe_budget=20"]) == 1
    assert "spmv_par2 uses 26 primitives (budget 20, HardwareConfig.pe_budget)" in capsys.readouterr().err
    assert main([*cmd, "--hw", "pe_budget=26"]) == 0
