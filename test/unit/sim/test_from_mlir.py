"""The sam-dialect reader: the dialect's canonical graphs simulate to the scipy result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from fuseflow.errors import FuseflowError
from fuseflow.sim import HardwareConfig, simulate_graph
from fuseflow.sim.from_mlir import load_program

GRAPHS = Path(__file__).resolve().parents[2] / "lit" / "dialects" / "sam" / "graphs"
NI, K, J = 4, 6, 5


def rnd(m, n, seed, density=0.5):
    a = sp.random(m, n, density=density, random_state=seed, format="lil")
    a[seed % m, :] = 0  # an empty row
    return sp.csr_matrix(a)


A_IK, B_KJ = rnd(NI, K, 1), rnd(K, J, 2)
S_IJ, A2_IJ = rnd(NI, J, 3), rnd(NI, J, 4)
X_K = np.random.default_rng(0).random(K)
X_J = np.random.default_rng(1).random(J)
DA, DB = np.random.default_rng(2).random((NI, K)), np.random.default_rng(3).random((J, K))
# 2 x 2 tiles, about half of them zero (bspmm_ijk: J = 8)
BLOCKS_IK, BLOCKS_KJ = (np.random.default_rng(s).random((m, n)) * np.kron(np.random.default_rng(s).random((m // 2, n // 2)) < 0.5, np.ones((2, 2)))
                        for s, (m, n) in ((4, (NI, K)), (5, (K, 8))))

CASES = {
    "spmv": ([rnd(NI, J, 5), X_J], lambda a, x: a @ x),
    "spmv_locate": ([rnd(NI, J, 6), X_J], lambda a, x: a @ x),
    "spmv_par2": ([rnd(NI, J, 7), X_J], lambda a, x: a @ x),
    "spmm_ijk": ([A_IK, B_KJ], lambda a, b: (a @ b).toarray()),
    "spmm_ikj": ([A_IK, B_KJ], lambda a, b: (a @ b).toarray()),
    "spmm_kij": ([A_IK, B_KJ], lambda a, b: (a @ b).toarray()),
    "bspmm_ijk": ([BLOCKS_IK, BLOCKS_KJ], lambda a, b: a @ b),
    "sddmm": ([S_IJ, DA, DB], lambda s, a, b: s.multiply(a @ b.T).toarray()),
    "add": ([S_IJ, A2_IJ], lambda a, b: (a + b).toarray()),
    "mul": ([S_IJ, A2_IJ], lambda a, b: a.multiply(b).toarray()),
}


def graph_path(name):
    p = GRAPHS / f"{name}.mlir"
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("hw", [HardwareConfig(), HardwareConfig(fifo_depth=0, memory=False)], ids=["default", "comal"])
def test_canonical_dialect_graphs(name, hw):
    inputs, fn = CASES[name]
    res = simulate_graph(graph_path(name), inputs, hw=hw, check=True, expected=fn(*inputs))
    assert res.cycles > 0
    # named binding and the functional model agree too
    simulate_graph(graph_path(name), {f"arg{k}": v for k, v in enumerate(inputs)}, check=True)


def test_module_object_and_text_are_accepted():
    from fuseflow.context import make_context, parse_module

    text = graph_path("spmv").read_text()
    a, x = CASES["spmv"][0]
    want = a @ x
    simulate_graph(text, [a, x], check=True, expected=want)
    simulate_graph(parse_module(text, make_context()), [a, x], check=True, expected=want)


def test_shape_mismatch_names_the_tensor():
    a, x = CASES["spmv"][0]
    with pytest.raises(FuseflowError, match="arg1.*shape"):
        simulate_graph(graph_path("spmv"), [a, np.ones(J + 1)])


def test_missing_input_names_the_reading_node():
    a, _ = CASES["spmv"][0]
    with pytest.raises(FuseflowError, match="no input tensor named 'arg1'.*needed by node"):
        simulate_graph(graph_path("spmv"), {"arg0": a})


def test_bad_file_and_malformed_module():
    with pytest.raises(FuseflowError, match="no such file"):
        load_program(Path("/nonexistent/graph.mlir"))
    with pytest.raises(FuseflowError, match="no func.func with sam ops"):
        load_program("module {\n}\n")


@pytest.mark.parametrize("engine", ["cycle", "functional"])
def test_a_program_region_runs_as_its_graph(engine):
    from fuseflow.program import Program

    prog = Program(load_program_module("spmm_ikj"), None, {}, None)
    g = prog.region_graph("spmm_ikj")
    assert prog.region_graph("spmm_ikj") is g  # read once
    res = simulate_graph(g, [A_IK.toarray().astype(np.float32), B_KJ.toarray()], engine=engine)
    np.testing.assert_allclose(res.outputs["out"].toarray(), (A_IK @ B_KJ).toarray(), rtol=1e-6)
    assert (res.cycles > 0) == (engine == "cycle")
    with pytest.raises(FuseflowError, match="unknown engine"):
        simulate_graph(g, [A_IK, B_KJ], engine="fast")


def load_program_module(name):
    from fuseflow.context import make_context, parse_module

    return parse_module(graph_path(name).read_text(), make_context())


COO_ADD = """
#COO = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed(nonunique), d1 : singleton(soa)) }>
#DCSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : compressed, d1 : compressed) }>
func.func @add_coo(%a: tensor<4x5xf32, #COO>, %b: tensor<4x5xf32, #COO>) -> tensor<4x5xf32, #DCSR> {
  %0 = "sam.root"() : () -> !sam.ref<index>
  %1:2 = "sam.fiber_lookup"(%a, %0) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #COO>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %2:2 = "sam.fiber_lookup"(%b, %0) {format = "compressed", index = "i", level = 0 : i64} : (tensor<4x5xf32, #COO>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %3:3 = "sam.union"(%1#0, %2#0, %1#1, %2#1) {index = "i", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
  %4:2 = "sam.fiber_lookup"(%a, %3#1) {format = "singleton", index = "j", level = 1 : i64} : (tensor<4x5xf32, #COO>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %5:2 = "sam.fiber_lookup"(%b, %3#2) {format = "singleton", index = "j", level = 1 : i64} : (tensor<4x5xf32, #COO>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>)
  %6:3 = "sam.union"(%4#0, %5#0, %4#1, %5#1) {index = "j", operandSegmentSizes = array<i32: 2, 2, 0>, resultSegmentSizes = array<i32: 1, 2, 0>} : (!sam.crd<index>, !sam.crd<index>, !sam.ref<index>, !sam.ref<index>) -> (!sam.crd<index>, !sam.ref<index>, !sam.ref<index>)
  %7 = "sam.array"(%a, %6#1) : (tensor<4x5xf32, #COO>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
  %8 = "sam.array"(%b, %6#2) : (tensor<4x5xf32, #COO>, !sam.ref<index>) -> !sam.val<f32, array<i64>>
  %9 = "sam.alu"(%7, %8) {kind = "add", operandSegmentSizes = array<i32: 2>} : (!sam.val<f32, array<i64>>, !sam.val<f32, array<i64>>) -> !sam.val<f32, array<i64>>
  %10 = "sam.fiber_write"(%3#0) {format = "compressed", level = 0 : i64} : (!sam.crd<index>) -> !sam.level
  %11 = "sam.fiber_write"(%6#0) {format = "compressed", level = 1 : i64} : (!sam.crd<index>) -> !sam.level
  %12 = "sam.val_write"(%9) : (!sam.val<f32, array<i64>>) -> !sam.values
  %13 = "sam.output"(%10, %11, %12) {operandSegmentSizes = array<i32: 2, 1>} : (!sam.level, !sam.level, !sam.values) -> tensor<4x5xf32, #DCSR>
  return %13 : tensor<4x5xf32, #DCSR>
}
"""


@pytest.mark.parametrize("engine", ["functional", "compiled"])
def test_coo_inputs_read_as_nonunique_and_singleton_levels(engine):
    prog = load_program(COO_ADD)
    assert [s.format for s in prog.regions[0].inputs] == ["ns", "ns"]
    a, b = rnd(NI, J, 8), rnd(NI, J, 9)
    res = simulate_graph(prog, [a, b], engine=engine)
    np.testing.assert_allclose(res.outputs["out"].toarray(), (a + b).toarray())
